export * from './client.ts';
export * from './__generated__/graphql.ts';
