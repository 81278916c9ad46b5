/** `npm run start:gateway`: the gateway alone, on PORT (default 4000), subgraphs from `<NAME>_URL`. */
import { loadConfig, runUntilSignal } from '@graphex/runtime';
import { startGateway } from './index.ts';

await runUntilSignal('gateway', () => startGateway(loadConfig()));
