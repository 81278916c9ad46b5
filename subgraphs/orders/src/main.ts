import { runUntilSignal } from '@graphex/runtime';
import { startOrders } from './index.ts';

await runUntilSignal('orders', () => startOrders());
