export * from './processes.ts';
export * from './graphql-client.ts';
export * from './subscriptions.ts';
