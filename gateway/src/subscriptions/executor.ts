/**
 * The federated subscription executor.
 *
 *   client subscription ──plan──▶ primary fetch (graphql-ws to the owning subgraph)  = Upstream
 *                                   │ one per (subgraph, primary operation, variables, scope)
 *                                   ▼
 *                                 rest of plan + result shaping, once per event     = Group
 *                                   │ one per (upstream, client document, variables, scope)
 *                                   ▼
 *                                 bounded queue per subscriber                      = SubscriberChannel
 *
 * Sharing. The *scope* of an upstream is `public` when its root field is declared a public feed
 * (`feeds[field].public`): the subgraph is then called as anonymous and every subscriber shares it,
 * whoever they are. Any other root field is scoped to the subscriber's identity (myOrders, myFills),
 * so one user never receives another's stream. A group runs the rest of the plan with its
 * subscribers' identity; its scope is `public` only when the feed is public *and* the plan has no
 * rest (nothing identity-dependent is fetched), else the identity.
 *
 * Late joiners. A subscriber joining a running upstream receives the events that come after it
 * joined — right for self-contained events (trades, tickers, fills). A feed whose events build on
 * each other (orderBook: SNAPSHOT then DELTAs) declares a catch-up policy: a reducer that keeps
 * the events a late joiner needs (e.g. the last SNAPSHOT and the DELTAs since). When the kept
 * events would exceed `maxRetainedEvents`, that upstream stops accepting joiners and the next
 * subscriber gets a fresh upstream (and so a fresh SNAPSHOT from the subgraph).
 *
 * Memory. Per subscriber at most `maxQueuedEventsPerSubscriber` results; per group at most
 * `maxPendingEventsPerGroup` events pending (`maxConcurrentExecutionsPerGroup` of them executing);
 * per catch-up feed at most `maxRetainedEvents`.
 * A subscriber that falls behind is resynchronised from its feed's catch-up events when the feed
 * allows it (`resyncSlowSubscribers`), otherwise dropped: its iterator throws a LIMIT_EXCEEDED
 * error with `extensions.reason = "SLOW_CONSUMER"` (see `isSlowConsumerError`).
 */
import {
  GraphQLError,
  getVariableValues,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { GraphQLDataSource } from '@apollo/gateway';
import { anonymous, type Identity, type Logger } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { randomUUID } from 'node:crypto';
import { createEventExecutor, type SubgraphEvent, type SubscriptionFetchContext } from './event-execution.ts';
import { identityKeyOf, memoisedToken } from './identity-token.ts';
import { resolveExecutorLimits, type SubscriptionExecutorLimits } from './limits.ts';
import { createSubscriptionPlanner, type SubscriptionPlan } from './planner.ts';
import { SubscriberChannel, type DirectDelivery } from './subscriber-channel.ts';
import { createHttpSubgraphDataSource } from './subgraph-fetch.ts';
import { createUpstreamPool, type UpstreamPool } from './upstream-pool.ts';
import type WebSocket from 'ws';

/** What a late joiner (or a resynchronised slow subscriber) of a running feed receives first. */
export interface CatchUpPolicy {
  /**
   * Given the events kept so far and a new one (as the subgraph sent them), returns the events to
   * keep, oldest first — e.g. `isSnapshot(event) ? [event] : [...kept, event]`. Pure.
   */
  readonly retain: (kept: readonly SubgraphEvent[], event: SubgraphEvent) => readonly SubgraphEvent[];
  /** Bound on `retain`'s result; at most `maxQueuedEventsPerSubscriber` and `maxPendingEventsPerGroup`. */
  readonly maxRetainedEvents: number;
  /** A subscriber that falls behind gets the kept events instead of being dropped. */
  readonly resyncSlowSubscribers?: boolean;
}

/** How subscriptions to one root field (by name, e.g. `orderBook`) are shared. */
export interface FeedPolicy {
  /**
   * The primary fetch does not depend on who asks (market data): one upstream, called as
   * anonymous, for every subscriber. Never set this on a field whose resolver reads the identity.
   */
  readonly public: boolean;
  readonly catchUp?: CatchUpPolicy;
}

export interface SubscriptionExecutorOptions {
  readonly supergraphSdl: string;
  /** Subgraph URLs by name (http(s) or ws(s); the same path serves both). Defaults to the supergraph's. */
  readonly subgraphUrls?: Readonly<Record<string, string>>;
  /** Signs an identity for subgraphs (`signInternalIdentity` with the platform secret and TTL). */
  readonly signIdentity: (identity: Identity) => Promise<string>;
  readonly logger: Logger;
  readonly limits?: Partial<SubscriptionExecutorLimits>;
  /** Sharing policy per subscription root field; unlisted fields are per identity, live only. */
  readonly feeds?: Readonly<Record<string, FeedPolicy>>;
  /**
   * Data source for rest-of-plan fetches to one subgraph. Its `process` receives a
   * `SubscriptionFetchContext` as `context`. Defaults to a plain HTTP POST data source.
   */
  readonly createDataSource?: (name: string, url: string) => GraphQLDataSource;
  /** Longest reuse of one signed identity token for rest fetches. */
  readonly identityTokenReuseMs?: number;
  /** WebSocket class for upstream connections (tests); defaults to `ws`. */
  readonly webSocketImpl?: typeof WebSocket;
}

export interface SubscriptionRequest {
  readonly document: DocumentNode;
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
  readonly identity: Identity;
  /** Logged with every fetch of this subscription; generated when absent. */
  readonly requestId?: string | undefined;
  /**
   * Called (once, asynchronously) when this subscriber is dropped for falling behind, at the moment
   * it happens: a consumer stuck on a full socket would only see the error on its next `next()`,
   * which may never come. The server closes the socket here.
   */
  readonly onSlowConsumer?: ((error: GraphQLError) => void) | undefined;
  /**
   * Hands the events to a writer instead of the returned iterator (socket-writer.ts); the iterator
   * then only ends (or rejects) with the stream.
   */
  readonly delivery?: DirectDelivery<ExecutionResult> | undefined;
}

export interface SubscriptionExecutorStats {
  /** Subscriptions open to subgraphs. */
  readonly upstreams: number;
  /** graphql-ws connections open (or opening) to subgraphs. */
  readonly upstreamConnections: number;
  readonly groups: number;
  readonly subscribers: number;
}

export interface SubscriptionExecutor {
  /** The API schema clients' documents are validated against. */
  readonly apiSchema: GraphQLSchema;
  /**
   * Starts a subscription. Never throws: request errors (unknown operation, bad variables) come as
   * one result with `errors` and the end of the stream; a lost upstream makes `next()` reject with
   * a GraphQLError (SERVICE_UNAVAILABLE); a slow consumer makes it reject with LIMIT_EXCEEDED.
   * `return()` leaves the subscription (and closes the upstream when it was the last subscriber).
   */
  subscribe(request: SubscriptionRequest): AsyncGenerator<ExecutionResult, undefined, undefined>;
  stats(): SubscriptionExecutorStats;
  /** Ends every subscription (SERVICE_UNAVAILABLE) and closes every upstream connection. */
  close(): Promise<void>;
}

/** True for the error a dropped slow subscriber's iterator rejects with. */
export function isSlowConsumerError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError && error.extensions['reason'] === 'SLOW_CONSUMER';
}

function slowConsumerError(capacity: number): GraphQLError {
  return apiError(
    'LIMIT_EXCEEDED',
    `This subscription fell more than ${capacity} events behind and was dropped; resubscribe.`,
    { reason: 'SLOW_CONSUMER' },
  );
}

/** JSON with sorted object keys, so equal variables give equal sharing keys. */
function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  return new GraphQLError(error instanceof Error ? error.message : String(error), {
    ...(error instanceof Error ? { originalError: error } : {}),
  });
}

/** A stream of one result, then the end (request errors). */
function singleResult(result: ExecutionResult): SubscriberChannel<ExecutionResult> {
  const channel = new SubscriberChannel<ExecutionResult>({
    capacity: 1,
    onOverflow: () => ({ kind: 'fail', error: new Error('unreachable') }),
    onClose: () => undefined,
  });
  channel.push(result);
  channel.end();
  return channel;
}

interface RetainedEvents<T> {
  kept: readonly SubgraphEvent[];
  /** False once the kept events exceeded the bound: no more joiners. */
  joinable: boolean;
  results?: Map<SubgraphEvent, T>;
}

function retainEvent<T>(
  policy: CatchUpPolicy | undefined,
  state: RetainedEvents<T>,
  event: SubgraphEvent,
  result?: T,
): void {
  if (!policy || !state.joinable) return;
  const kept = policy.retain(state.kept, event);
  if (kept.length > policy.maxRetainedEvents) {
    state.joinable = false;
    state.kept = [];
    state.results?.clear();
    return;
  }
  state.kept = kept;
  if (state.results && result !== undefined) {
    state.results.set(event, result);
    const keptSet = new Set(kept);
    for (const old of state.results.keys()) if (!keptSet.has(old)) state.results.delete(old);
  }
}

export function createSubscriptionExecutor(options: SubscriptionExecutorOptions): SubscriptionExecutor {
  const limits = resolveExecutorLimits(options.limits);
  const logger = options.logger.child({ component: 'subscriptions' });
  const feeds = options.feeds ?? {};
  for (const [field, feed] of Object.entries(feeds)) {
    // Catch-up events are replayed into a subscriber's queue and into a new group's pipeline:
    // they must fit in both, or a late joiner would be dropped on arrival.
    const retained = feed.catchUp?.maxRetainedEvents;
    if (retained === undefined) continue;
    if (!Number.isSafeInteger(retained) || retained < 1) {
      throw new Error(`feeds.${field}.catchUp.maxRetainedEvents must be a positive integer.`);
    }
    const bound = Math.min(limits.maxQueuedEventsPerSubscriber, limits.maxPendingEventsPerGroup);
    if (retained > bound) {
      throw new Error(
        `feeds.${field}.catchUp.maxRetainedEvents (${retained}) exceeds maxQueuedEventsPerSubscriber/maxPendingEventsPerGroup (${bound}).`,
      );
    }
  }
  const planner = createSubscriptionPlanner(options.supergraphSdl, limits.maxCachedPlans);
  const urls: Record<string, string> = {};
  for (const { name, url } of planner.subgraphs) urls[name] = options.subgraphUrls?.[name] ?? url;
  const dataSources: Record<string, GraphQLDataSource> = {};
  for (const [name, url] of Object.entries(urls)) {
    dataSources[name] =
      options.createDataSource?.(name, url) ??
      createHttpSubgraphDataSource({ name, url, timeoutMs: limits.restFetchTimeoutMs });
  }
  const executeEvent = createEventExecutor(planner, dataSources);
  const pool: UpstreamPool = createUpstreamPool({
    logger,
    maxMessageBytes: limits.maxUpstreamMessageBytes,
    ackTimeoutMs: limits.upstreamAckTimeoutMs,
    keepAliveMs: limits.upstreamKeepAliveMs,
    ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
  });
  const tokenReuseMs = options.identityTokenReuseMs ?? 60_000;
  const upstreams = new Map<string, Upstream>();
  let upstreamCount = 0;
  let groupCount = 0;
  let subscriberCount = 0;
  let closed = false;

  /** One subscription to a subgraph, fanned out to groups. */
  class Upstream {
    readonly groups = new Map<string, Group>();
    readonly retained: RetainedEvents<never> = { kept: [], joinable: true };
    ended = false;
    readonly key: string;
    readonly plan: SubscriptionPlan;
    readonly feed: FeedPolicy | undefined;
    readonly #stop: () => void;

    constructor(init: {
      key: string;
      plan: SubscriptionPlan;
      feed: FeedPolicy | undefined;
      scopeKey: string;
      identity: Identity;
      variables: Readonly<Record<string, unknown>>;
    }) {
      const { plan, scopeKey, identity, variables } = init;
      this.key = init.key;
      this.plan = plan;
      this.feed = init.feed;
      const url = urls[plan.serviceName];
      if (url === undefined)
        throw new Error(`The supergraph plans a fetch to unknown subgraph ${plan.serviceName}.`);
      upstreamCount += 1;
      this.#stop = pool.subscribe(
        {
          serviceName: plan.serviceName,
          url,
          scopeKey,
          signToken: () => options.signIdentity(identity),
          query: plan.primaryQuery,
          variables,
        },
        {
          next: (event) => this.#onEvent(event),
          error: (error) => this.#end(error),
          complete: () => this.#end(undefined),
        },
      );
    }

    get joinable(): boolean {
      return !this.ended && this.retained.joinable;
    }

    #onEvent(event: FormattedExecutionResult<Record<string, unknown>, unknown>): void {
      if (this.ended) return;
      const subgraphEvent = event as SubgraphEvent;
      retainEvent(this.feed?.catchUp, this.retained, subgraphEvent);
      for (const group of this.groups.values()) group.onEvent(subgraphEvent);
    }

    #end(error: GraphQLError | undefined): void {
      if (this.ended) return;
      this.#release();
      for (const group of [...this.groups.values()]) group.requestEnd(error);
    }

    removeGroup(group: Group): void {
      if (this.groups.get(group.key) === group) this.groups.delete(group.key);
      if (this.groups.size === 0) {
        this.#release();
        this.#stop();
      }
    }

    #release(): void {
      if (this.ended) return;
      this.ended = true;
      upstreamCount -= 1;
      if (upstreams.get(this.key) === this) upstreams.delete(this.key);
    }
  }

  /** Subscribers with the same document, variables and scope: the rest of the plan runs once. */
  class Group {
    readonly subscribers = new Set<SubscriberChannel<ExecutionResult>>();
    readonly retained: RetainedEvents<ExecutionResult> = { kept: [], joinable: true, results: new Map() };
    /** Events in upstream order; the first `maxConcurrentExecutionsPerGroup` are executing. */
    readonly #pending: { event: SubgraphEvent; result: Promise<ExecutionResult> | undefined }[] = [];
    #draining = false;
    #endRequested: { error: GraphQLError | undefined } | undefined;
    #removed = false;
    readonly key: string;
    readonly upstream: Upstream;
    readonly plan: SubscriptionPlan;
    readonly document: DocumentNode;
    readonly operationName: string | null | undefined;
    readonly variables: Readonly<Record<string, unknown>>;
    readonly fetchContext: SubscriptionFetchContext;

    constructor(init: {
      key: string;
      upstream: Upstream;
      plan: SubscriptionPlan;
      document: DocumentNode;
      operationName: string | null | undefined;
      variables: Readonly<Record<string, unknown>>;
      fetchContext: SubscriptionFetchContext;
    }) {
      const { upstream } = init;
      this.key = init.key;
      this.upstream = upstream;
      this.plan = init.plan;
      this.document = init.document;
      this.operationName = init.operationName;
      this.variables = init.variables;
      this.fetchContext = init.fetchContext;
      groupCount += 1;
      // A group created on a running upstream starts from the upstream's catch-up events.
      for (const event of upstream.retained.kept) this.onEvent(event);
    }

    get joinable(): boolean {
      return !this.#removed && this.#endRequested === undefined && this.retained.joinable;
    }

    onEvent(event: SubgraphEvent): void {
      if (this.#endRequested) return;
      if (this.#pending.length >= limits.maxPendingEventsPerGroup) {
        logger.warn('subscription group cannot keep up with its source', {
          subgraph: this.plan.serviceName,
          field: this.plan.rootFieldName,
          pending: this.#pending.length,
        });
        this.#failAll(
          apiError(
            'SERVICE_UNAVAILABLE',
            'This subscription could not keep up with its source; resubscribe.',
          ),
        );
        return;
      }
      this.#pending.push({ event, result: undefined });
      this.#startExecutions();
      if (!this.#draining) void this.#drain();
    }

    /** Starts the executions of the oldest pending events, at most the concurrency limit. */
    #startExecutions(): void {
      const window = Math.min(this.#pending.length, limits.maxConcurrentExecutionsPerGroup);
      for (let i = 0; i < window; i++) {
        const entry = this.#pending[i];
        if (!entry || entry.result) continue;
        entry.result = executeEvent({
          plan: this.plan,
          document: this.document,
          operationName: this.operationName,
          variables: this.variables,
          fetchContext: this.fetchContext,
          event: entry.event,
        }).catch((error: unknown): ExecutionResult => {
          logger.error('subscription event execution failed', { error });
          return { data: null, errors: [toGraphQLError(error)] };
        });
      }
    }

    async #drain(): Promise<void> {
      this.#draining = true;
      try {
        // Results are delivered in upstream order even though executions overlap.
        while (this.#pending.length > 0 && !this.#removed) {
          const head = this.#pending[0];
          if (!head) break;
          this.#startExecutions();
          if (!head.result) throw new Error('The head of a group pipeline was not started.');
          const result = await head.result;
          if (this.#pending[0] !== head) break; // the group failed meanwhile
          this.#pending.shift();
          retainEvent(this.upstream.feed?.catchUp, this.retained, head.event, result);
          for (const subscriber of this.subscribers) subscriber.push(result);
        }
      } finally {
        this.#draining = false;
      }
      if (this.#pending.length === 0 && this.#endRequested) this.#endAll(this.#endRequested.error);
    }

    requestEnd(error: GraphQLError | undefined): void {
      if (this.#endRequested) return;
      this.#endRequested = { error };
      if (!this.#draining && this.#pending.length === 0) this.#endAll(error);
    }

    #endAll(error: GraphQLError | undefined): void {
      for (const subscriber of [...this.subscribers]) subscriber.end(error);
    }

    #failAll(error: GraphQLError): void {
      this.#endRequested = { error };
      this.#pending.length = 0;
      for (const subscriber of [...this.subscribers]) subscriber.fail(error);
    }

    /**
     * The results a subscriber catching up (a late joiner, or a slow subscriber resynchronised) needs
     * first: the last SNAPSHOT's and the DELTAs' since. Undefined when the group keeps none or keeps
     * no more (past `maxRetainedEvents`) or they would not fit in `capacity`.
     */
    catchUpResults(capacity: number): ExecutionResult[] | undefined {
      if (!this.retained.joinable) return undefined;
      const items: ExecutionResult[] = [];
      for (const event of this.retained.kept) {
        const result = this.retained.results?.get(event);
        if (result) items.push(result);
      }
      return items.length > 0 && items.length <= capacity ? items : undefined;
    }

    add(subscriber: SubscriberChannel<ExecutionResult>): void {
      // Catch up a subscriber joining a group that already delivered events (the kept events fit in
      // any subscriber's queue: checked against the limits at start).
      for (const result of this.catchUpResults(Number.MAX_SAFE_INTEGER) ?? []) subscriber.push(result);
      this.attach(subscriber);
    }

    /** Adds a subscriber whose queue already holds what it needs (see `catchUpResults`). */
    attach(subscriber: SubscriberChannel<ExecutionResult>): void {
      if (this.subscribers.has(subscriber)) return;
      this.subscribers.add(subscriber);
      subscriberCount += 1;
    }

    remove(subscriber: SubscriberChannel<ExecutionResult>): void {
      if (!this.subscribers.delete(subscriber)) return;
      subscriberCount -= 1;
      if (this.subscribers.size === 0 && !this.#removed) {
        this.#removed = true;
        this.#pending.length = 0;
        groupCount -= 1;
        this.upstream.removeGroup(this);
      }
    }
  }

  function subscribe(request: SubscriptionRequest): SubscriberChannel<ExecutionResult> {
    if (closed)
      return singleResult({ errors: [apiError('SERVICE_UNAVAILABLE', 'The gateway is shutting down.')] });
    let plan: SubscriptionPlan;
    try {
      plan = planner.plan(request.document, request.operationName);
    } catch (error) {
      return singleResult({ errors: [toGraphQLError(error)] });
    }
    const definition = plan.operationContext.operation as OperationDefinitionNode;
    const coerced = getVariableValues(
      planner.apiSchema,
      definition.variableDefinitions ?? [],
      { ...request.variables },
      {
        maxErrors: 10,
      },
    );
    if (coerced.errors) {
      return singleResult({
        errors: coerced.errors.map((e) => apiError('BAD_USER_INPUT', e.message, e.extensions)),
      });
    }
    const variables: Record<string, unknown> = { ...request.variables };
    const primaryVariables: Record<string, unknown> = {};
    for (const name of plan.primary.variableUsages ?? []) {
      if (variables[name] !== undefined) primaryVariables[name] = variables[name];
    }
    const feed = feeds[plan.rootFieldName];
    const isPublic = feed?.public === true;
    const identityKey = identityKeyOf(request.identity);
    const upstreamIdentity = isPublic ? anonymous : request.identity;
    const upstreamScope = isPublic ? 'public' : identityKey;
    const upstreamKey = [
      plan.serviceName,
      upstreamScope,
      plan.primaryQuery,
      stableStringify(primaryVariables),
    ].join('\u0000');

    const groupIdentity = isPublic && !plan.rest ? anonymous : request.identity;
    const groupKey = [
      request.operationName ?? '',
      plan.documentText,
      stableStringify(variables),
      isPublic && !plan.rest ? 'public' : identityKey,
    ].join('\u0000');

    /** The joinable group of this subscription, on a joinable upstream (created when needed). */
    const joinableGroup = (): Group | undefined => {
      let upstream = upstreams.get(upstreamKey);
      if (!upstream || !upstream.joinable) {
        if (upstreamCount >= limits.maxUpstreamSubscriptions) {
          logger.warn('upstream subscription limit reached', { limit: limits.maxUpstreamSubscriptions });
          return undefined;
        }
        upstream = new Upstream({
          key: upstreamKey,
          plan,
          feed,
          scopeKey: upstreamScope,
          identity: upstreamIdentity,
          variables: primaryVariables,
        });
        upstreams.set(upstreamKey, upstream);
      }
      let group = upstream.groups.get(groupKey);
      if (!group || !group.joinable) {
        const requestId = request.requestId ?? randomUUID();
        group = new Group({
          key: groupKey,
          upstream,
          plan,
          document: request.document,
          operationName: request.operationName,
          variables,
          fetchContext: {
            identity: groupIdentity,
            requestId,
            logger: logger.child({ requestId }),
            internalIdentityToken: memoisedToken(() => options.signIdentity(groupIdentity), tokenReuseMs),
          },
        });
        upstream.groups.set(groupKey, group);
      }
      return group;
    };

    const first = joinableGroup();
    if (!first) {
      return singleResult({
        errors: [apiError('SERVICE_UNAVAILABLE', 'Too many subscriptions on this gateway; retry later.')],
      });
    }
    let joined = first;
    const capacity = limits.maxQueuedEventsPerSubscriber;
    const resync = feed?.catchUp?.resyncSlowSubscribers === true;
    const channel: SubscriberChannel<ExecutionResult> = new SubscriberChannel<ExecutionResult>({
      capacity,
      onOverflow: (queued) => {
        if (resync) {
          // Behind on a feed whose events build on each other: start again from a SNAPSHOT — the
          // group's kept one and the DELTAs since, or, when this upstream keeps none any more, a
          // joinable upstream's (a new upstream's first event is a fresh SNAPSHOT from the subgraph).
          const kept = joined.catchUpResults(capacity);
          if (kept) {
            logger.debug('slow subscriber resynchronised', {
              field: plan.rootFieldName,
              dropped: queued.length,
            });
            return { kind: 'replace', items: kept };
          }
          const next = joinableGroup();
          if (next && next !== joined) {
            const items = next.catchUpResults(capacity) ?? [];
            const previous = joined;
            joined = next;
            previous.remove(channel);
            next.attach(channel);
            logger.debug('slow subscriber resynchronised on a fresh upstream', {
              field: plan.rootFieldName,
              dropped: queued.length,
            });
            return { kind: 'replace', items };
          }
        }
        logger.warn('slow subscriber dropped', { field: plan.rootFieldName, queued: queued.length });
        const error = slowConsumerError(capacity);
        const onSlowConsumer = request.onSlowConsumer;
        if (onSlowConsumer) queueMicrotask(() => onSlowConsumer(error));
        return { kind: 'fail', error };
      },
      onClose: () => joined.remove(channel),
      direct: request.delivery,
    });
    joined.add(channel);
    return channel;
  }

  return {
    apiSchema: planner.apiSchema,
    subscribe,
    stats: () => ({
      upstreams: upstreamCount,
      upstreamConnections: pool.connectionCount,
      groups: groupCount,
      subscribers: subscriberCount,
    }),
    async close() {
      closed = true;
      const error = apiError('SERVICE_UNAVAILABLE', 'The gateway is shutting down; resubscribe.');
      for (const upstream of [...upstreams.values()]) {
        for (const group of [...upstream.groups.values()]) {
          for (const subscriber of [...group.subscribers]) subscriber.end(error);
        }
      }
      await pool.dispose();
    },
  };
}
