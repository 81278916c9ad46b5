export * from './errors.ts';
export * from './reference-data.ts';
export * from './core-protocol.ts';
export * from './core-wire.ts';
