import type { BaseRequestContext } from '@graphex/runtime';
import type { OrdersView } from './store/orders-view.ts';

/** What every orders resolver receives: the verified identity plus a per-request read-model view. */
export interface SubgraphContext extends BaseRequestContext {
  readonly orders: OrdersView;
}
