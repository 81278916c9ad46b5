export * from './errors.ts';
export * from './reference-data.ts';
