import { runUntilSignal } from '@graphex/runtime';
import { startWallets } from './index.ts';

await runUntilSignal('wallets', () => startWallets());
