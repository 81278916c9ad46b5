/**
 * Federated subscriptions for the Apollo gateway: plan with the federation query planner, stream
 * the primary fetch from the owning subgraph over graphql-ws, join the rest per event, serve
 * clients over graphql-ws on `/graphql`. See README.md for the policies (sharing, memory, close codes).
 */
export {
  createSubscriptionExecutor,
  isSlowConsumerError,
  type CatchUpPolicy,
  type FeedPolicy,
  type SubscriptionExecutor,
  type SubscriptionExecutorOptions,
  type SubscriptionExecutorStats,
  type SubscriptionRequest,
} from './executor.ts';
export type { SubgraphEvent, SubscriptionFetchContext } from './event-execution.ts';
export {
  attachSubscriptionServer,
  authorizationFromConnectionParams,
  defaultSubscriptionErrorFormatter,
  type OperationRequest,
  type SubscriptionServer,
  type SubscriptionServerOptions,
} from './server.ts';
export { SubscriptionCloseCode } from './close-codes.ts';
export {
  defaultExecutorLimits,
  defaultServerLimits,
  type SubscriptionExecutorLimits,
  type SubscriptionServerLimits,
} from './limits.ts';
