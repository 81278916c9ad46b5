/**
 * WebSocket close codes the subscription server uses: a closed set. graphql-ws's own codes are
 * reused where they fit (4400, 4401, 4403, 4408, 4409, 4429, 4500); the one GraphEx adds sits in
 * the private 4000-4999 range. A code is never renumbered or reused for another meaning.
 */
export const SubscriptionCloseCode = Object.freeze({
  /** graphql-ws: malformed message. */
  BadRequest: 4400,
  /** `connection_init` carried no valid credentials (missing, malformed, expired or revoked token). */
  Unauthorized: 4401,
  /** Credentials were valid but the connection is not allowed. */
  Forbidden: 4403,
  /** graphql-ws: no `connection_init` within the limit. */
  ConnectionInitialisationTimeout: 4408,
  /**
   * The client did not read its events fast enough: its per-subscription queue reached
   * `maxQueuedEventsPerSubscriber`. Reconnect and resubscribe (book streams restart with a SNAPSHOT).
   */
  SlowConsumer: 4008,
  /** Authentication failed for a reason that is ours, not the client's. */
  InternalServerError: 4500,
} as const);

export type SubscriptionCloseCode = (typeof SubscriptionCloseCode)[keyof typeof SubscriptionCloseCode];
