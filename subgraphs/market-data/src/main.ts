import { runUntilSignal } from '@graphex/runtime';
import { startMarketData } from './index.ts';

await runUntilSignal('market-data', () => startMarketData());
