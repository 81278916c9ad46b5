/** Runs the identity subgraph alone: `npm run start:identity`. */
import { loadConfig, runUntilSignal } from '@graphex/runtime';
import { startIdentity } from './index.ts';

await runUntilSignal('identity', () => startIdentity(loadConfig()));
