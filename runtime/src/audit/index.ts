export * from './chain.ts';
export * from './outbox.ts';
export * from './verify.ts';
