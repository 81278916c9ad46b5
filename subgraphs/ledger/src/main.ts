/** Runs the ledger subgraph alone: `npm run start:ledger`. */
import { loadConfig, runUntilSignal } from '@graphex/runtime';
import { startLedger } from './index.ts';

await runUntilSignal('ledger', () => startLedger(loadConfig()));
