import type { BaseRequestContext } from '@graphex/runtime';
import type { OrdersView } from './store/orders-view.ts';
import type { UserStreams } from './subscriptions/user-streams.ts';
import type { Trading } from './trading.ts';

/** What every orders resolver receives: the verified identity plus the service's use cases. */
export interface SubgraphContext extends BaseRequestContext {
  /** Per-request (per-subscription) batched view of the read model. */
  readonly orders: OrdersView;
  readonly trading: Trading;
  readonly streams: UserStreams;
}
