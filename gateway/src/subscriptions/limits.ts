/**
 * Every bound of the subscription engine in one place (TIGER_STYLE: a limit on everything). Units
 * are last in the names. Defaults are sized for the fan-out benchmark (5,000 subscribers of one
 * book at 100 events/s) with room to spare; the gateway passes its configured values.
 */

export interface SubscriptionExecutorLimits {
  /**
   * Results waiting to be taken by one subscriber. When a subscriber (its socket) falls this far
   * behind, it is resynchronised by its feed's catch-up policy when it has one, otherwise dropped
   * with a LIMIT_EXCEEDED error (`reason: SLOW_CONSUMER`). Never grows beyond this.
   */
  readonly maxQueuedEventsPerSubscriber: number;
  /**
   * Upstream events received by one execution group and not yet delivered (waiting for or in
   * rest-of-plan execution). Subgraphs push without flow control, so this absorbs bursts;
   * exceeding it ends the group's subscribers with SERVICE_UNAVAILABLE: the other subgraphs cannot
   * keep up with the event rate.
   */
  readonly maxPendingEventsPerGroup: number;
  /** Rest-of-plan executions running at once for one group (results still delivered in order). */
  readonly maxConcurrentExecutionsPerGroup: number;
  /** Deadline of one rest-of-plan fetch (`_entities` query) to a subgraph. */
  readonly restFetchTimeoutMs: number;
  /** Largest message accepted from a subgraph's WebSocket (ws `maxPayload`). */
  readonly maxUpstreamMessageBytes: number;
  /** How long a subgraph may take to acknowledge `connection_init`. */
  readonly upstreamAckTimeoutMs: number;
  /**
   * WebSocket ping interval on subgraph connections; a subgraph that has not answered the previous
   * ping when the next is due is considered gone (its subscriptions end with SERVICE_UNAVAILABLE).
   * graphql-ws's client has no pong deadline of its own, so a half-open TCP connection would
   * otherwise keep subscribers waiting forever.
   */
  readonly upstreamKeepAliveMs: number;
  /** Query plans kept (LRU), keyed by document text and operation name. */
  readonly maxCachedPlans: number;
  /** Upstream subscriptions open at once across all subgraphs; more are refused (SERVICE_UNAVAILABLE). */
  readonly maxUpstreamSubscriptions: number;
}

export const defaultExecutorLimits: SubscriptionExecutorLimits = Object.freeze({
  maxQueuedEventsPerSubscriber: 256,
  maxPendingEventsPerGroup: 1_024,
  maxConcurrentExecutionsPerGroup: 16,
  restFetchTimeoutMs: 10_000,
  maxUpstreamMessageBytes: 4 * 1024 * 1024,
  upstreamAckTimeoutMs: 5_000,
  upstreamKeepAliveMs: 10_000,
  maxCachedPlans: 1_000,
  maxUpstreamSubscriptions: 10_000,
});

export interface SubscriptionServerLimits {
  /** Operations open at once on one WebSocket; one more is refused with LIMIT_EXCEEDED. */
  readonly maxSubscriptionsPerConnection: number;
  /** Largest client message (ws `maxPayload`); a larger one closes the socket with 1009. */
  readonly maxMessageBytes: number;
  /** Open WebSockets on this server; the upgrade of one more is answered 503. */
  readonly maxConnections: number;
  /** `connection_init` must arrive within this (graphql-ws closes with 4408). */
  readonly connectionInitTimeoutMs: number;
  /** Ping interval; a peer that does not pong within it is terminated. */
  readonly keepAliveMs: number;
  /**
   * After closing a slow consumer's socket, how long the close handshake may take before the socket
   * is destroyed (a client that stopped reading never completes it).
   */
  readonly slowConsumerCloseGraceMs: number;
  /**
   * Unsent bytes a client socket may hold before its events wait in the subscribers' bounded queues
   * (which then resynchronise or drop the subscriber when they fill).
   */
  readonly outputHighWaterBytes: number;
  /**
   * How far behind a client may read before its socket is written no more (its subscriptions then
   * resynchronise or drop), measured with WebSocket pings that ride along with the events.
   */
  readonly maxClientLagMs: number;
  /** Least time between two such lag probes on one socket. */
  readonly lagProbeIntervalMs: number;
}

export const defaultServerLimits: SubscriptionServerLimits = Object.freeze({
  maxSubscriptionsPerConnection: 100,
  maxMessageBytes: 64 * 1024,
  maxConnections: 20_000,
  connectionInitTimeoutMs: 3_000,
  keepAliveMs: 12_000,
  slowConsumerCloseGraceMs: 5_000,
  outputHighWaterBytes: 64 * 1024,
  maxClientLagMs: 500,
  lagProbeIntervalMs: 250,
});

function assertPositiveIntegers(limits: object, label: string): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      throw new Error(`${label}.${name} must be a positive integer, got ${String(value)}.`);
    }
  }
}

export function resolveExecutorLimits(
  overrides: Partial<SubscriptionExecutorLimits> = {},
): SubscriptionExecutorLimits {
  const limits = { ...defaultExecutorLimits, ...overrides };
  assertPositiveIntegers(limits, 'executor limits');
  return limits;
}

export function resolveServerLimits(
  overrides: Partial<SubscriptionServerLimits> = {},
): SubscriptionServerLimits {
  const limits = { ...defaultServerLimits, ...overrides };
  assertPositiveIntegers(limits, 'server limits');
  return limits;
}
