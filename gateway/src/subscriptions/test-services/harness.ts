/**
 * Test-only: two tiny Fed 2 subgraphs served for real (node:http for `_entities` and other
 * queries, graphql-ws `useServer` on the same port for subscriptions), both verifying the
 * gateway-signed identity exactly like the platform's subgraphs, and recording what they saw.
 *
 *   fills  — owns Subscription.{myFills, trades, book}; Fill/Trade reference Order by key.
 *   orders — owns Order's fields (side, market, owner, seenBy, secretNote) and User.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GraphQLError, parse, type GraphQLSchema } from 'graphql';
import type * as GraphQLModule from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@apollo/composition';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  internalIdentityHeader,
  requireUser,
  signInternalIdentity,
  verifyInternalIdentity,
  type Identity,
} from '@graphex/runtime';

/**
 * @apollo/subgraph builds its schema with the CommonJS graphql; execute with that same copy (a
 * runner may give this file graphql's ESM build).
 */
const { graphql } = createRequire(import.meta.url)('graphql') as typeof GraphQLModule;

export const testInternalSecret = 'subscriptions-test-internal-secret-0123456789';

export function signTestIdentity(identity: Identity): Promise<string> {
  return signInternalIdentity(identity, testInternalSecret, 60);
}

function userIdOf(identity: Identity): string {
  return identity.kind === 'anonymous' ? 'anonymous' : identity.userId;
}

/** An unbounded push iterator: fine for a test subgraph, never for the gateway. */
class PushIterator<T> implements AsyncIterableIterator<T> {
  readonly #buffer: T[] = [];
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #done = false;
  readonly #onReturn: () => void;

  constructor(onReturn: () => void) {
    this.#onReturn = onReturn;
  }

  push(value: T): void {
    if (this.#done) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter({ value, done: false });
    } else this.#buffer.push(value);
  }

  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onReturn();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.#buffer.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Topic → live iterators, with a count of open subscriptions per root field. */
class PubSub {
  readonly #topics = new Map<string, Set<PushIterator<unknown>>>();
  readonly active = new Map<string, number>();
  /** Subscriptions ever opened per root field. */
  readonly opened = new Map<string, number>();

  subscribe(field: string, topic: string, initial: unknown[] = []): PushIterator<unknown> {
    this.active.set(field, (this.active.get(field) ?? 0) + 1);
    this.opened.set(field, (this.opened.get(field) ?? 0) + 1);
    const iterator: PushIterator<unknown> = new PushIterator(() => {
      this.#topics.get(topic)?.delete(iterator);
      this.active.set(field, (this.active.get(field) ?? 1) - 1);
    });
    for (const value of initial) iterator.push(value);
    let set = this.#topics.get(topic);
    if (!set) this.#topics.set(topic, (set = new Set()));
    set.add(iterator);
    return iterator;
  }

  publish(topic: string, value: unknown): number {
    const set = this.#topics.get(topic);
    for (const iterator of set ?? []) iterator.push(value);
    return set?.size ?? 0;
  }

  /** Completes every subscription of a topic (the subgraph ends the stream normally). */
  end(topic: string): void {
    for (const iterator of [...(this.#topics.get(topic) ?? [])]) iterator.finish();
  }
}

export interface OrderRecord {
  readonly id: string;
  readonly side: 'BUY' | 'SELL';
  readonly symbol: string;
  readonly ownerId: string;
}

export interface SeenIdentity {
  readonly via: 'ws' | 'http';
  readonly userId: string;
  /** For WebSockets: the upgrade header and connection_init carried the same identity. */
  readonly headerMatches?: boolean;
}

export interface RunningTestSubgraph {
  readonly name: string;
  readonly url: string;
  readonly typeDefs: string;
  readonly seen: SeenIdentity[];
  /** `_entities` requests answered. */
  readonly entityFetches: number;
  /** Drops every WebSocket at once (the subgraph "crashed"). */
  terminateSockets(): void;
  /** Stops reading every WebSocket (the subgraph hangs: no pongs, no close). */
  pauseSockets(): void;
  close(): Promise<void>;
}

interface SubgraphContext {
  readonly identity: Identity;
}

async function serveSubgraph(
  name: string,
  typeDefs: string,
  schema: GraphQLSchema,
): Promise<RunningTestSubgraph> {
  const seen: SeenIdentity[] = [];
  let entityFetches = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        let identity: Identity;
        try {
          identity = await verifyInternalIdentity(
            request.headers[internalIdentityHeader] as string | undefined,
            testInternalSecret,
          );
        } catch {
          response
            .writeHead(401, { 'content-type': 'application/json' })
            .end(JSON.stringify({ errors: [{ message: 'unauthenticated' }] }));
          return;
        }
        seen.push({ via: 'http', userId: userIdOf(identity) });
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          query: string;
          variables?: Record<string, unknown>;
          operationName?: string;
        };
        if (body.query.includes('_entities')) entityFetches += 1;
        const result = await graphql({
          schema,
          source: body.query,
          variableValues: body.variables ?? null,
          operationName: body.operationName ?? null,
          contextValue: { identity } satisfies SubgraphContext,
        });
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      })();
    });
  });
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const identities = new WeakMap<WebSocket, Identity>();
  useServer<Record<string, unknown>>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          const fromParams = await verifyInternalIdentity(
            ctx.connectionParams?.[internalIdentityHeader] as string | undefined,
            testInternalSecret,
          );
          const header = ctx.extra.request.headers[internalIdentityHeader] as string | undefined;
          const fromHeader = header ? await verifyInternalIdentity(header, testInternalSecret) : undefined;
          identities.set(ctx.extra.socket, fromParams);
          seen.push({
            via: 'ws',
            userId: userIdOf(fromParams),
            headerMatches: fromHeader !== undefined && userIdOf(fromHeader) === userIdOf(fromParams),
          });
          return true;
        } catch {
          return false;
        }
      },
      context: (ctx): SubgraphContext => {
        const identity = identities.get(ctx.extra.socket);
        if (!identity) throw new Error('WebSocket without a verified identity.');
        return { identity };
      },
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const subgraph: RunningTestSubgraph = {
    name,
    url: `http://127.0.0.1:${port}/graphql`,
    typeDefs,
    seen,
    get entityFetches() {
      return entityFetches;
    },
    terminateSockets() {
      for (const client of wss.clients) client.terminate();
    },
    pauseSockets() {
      for (const client of wss.clients) client.pause();
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return subgraph;
}

function readTypeDefs(service: string): string {
  return readFileSync(new URL(`./${service}/typeDefs.graphql`, import.meta.url), 'utf8');
}

export interface TestSubgraphs {
  readonly fills: RunningTestSubgraph;
  readonly orders: RunningTestSubgraph;
  readonly supergraphSdl: string;
  readonly pubsub: PubSub;
  readonly orderRecords: Map<string, OrderRecord>;
  publishFill(userId: string, fill: { id: string; priceTicks: number; orderId: string }): number;
  publishTrade(symbol: string, trade: { id: string; orderId: string }): number;
  /** Next DELTA of a book (sequence + 1). */
  publishBookDelta(symbol: string): number;
  /** A fresh SNAPSHOT of a book at its current sequence. */
  publishBookSnapshot(symbol: string): number;
  close(): Promise<void>;
}

export async function startTestSubgraphs(): Promise<TestSubgraphs> {
  const pubsub = new PubSub();
  const orderRecords = new Map<string, OrderRecord>();
  const users = new Map([
    ['u1', { id: 'u1', email: 'ada@example.com' }],
    ['u2', { id: 'u2', email: 'bob@example.com' }],
  ]);
  const bookSequence = new Map<string, number>();
  const fillsTypeDefs = readTypeDefs('fills');
  const ordersTypeDefs = readTypeDefs('orders');

  const fillsSchema = buildSubgraphSchema([
    {
      typeDefs: parse(fillsTypeDefs),
      resolvers: {
        Query: { fillsReady: () => true },
        Subscription: {
          myFills: {
            subscribe: (_: unknown, __: unknown, context: SubgraphContext) => {
              const { userId } = requireUser(context.identity);
              return pubsub.subscribe('myFills', `fills:${userId}`);
            },
            resolve: (payload: unknown, _: unknown, context: SubgraphContext) => ({
              ...(payload as object),
              seenBy: userIdOf(context.identity),
            }),
          },
          trades: {
            subscribe: (_: unknown, args: { symbol: string }) =>
              pubsub.subscribe('trades', `trades:${args.symbol}`),
            resolve: (payload: unknown) => payload,
          },
          book: {
            subscribe: (_: unknown, args: { symbol: string }) =>
              pubsub.subscribe('book', `book:${args.symbol}`, [
                { kind: 'SNAPSHOT', sequence: bookSequence.get(args.symbol) ?? 0, symbol: args.symbol },
              ]),
            resolve: (payload: unknown) => payload,
          },
        },
        Fill: { order: (fill: { orderId: string }) => ({ id: fill.orderId }) },
        Trade: {
          order: (trade: { orderId: string }) => ({ id: trade.orderId }),
          padding: (_: unknown, args: { bytes: number }) => 'x'.repeat(args.bytes),
        },
      } as never,
    },
  ]);

  const ordersSchema = buildSubgraphSchema([
    {
      typeDefs: parse(ordersTypeDefs),
      resolvers: {
        Query: { order: (_: unknown, args: { id: string }) => orderRecords.get(args.id) ?? null },
        Order: {
          __resolveReference: (reference: { id: string }) => orderRecords.get(reference.id) ?? null,
          market: (order: OrderRecord) => ({ symbol: order.symbol }),
          owner: (order: OrderRecord) => users.get(order.ownerId),
          seenBy: (_: OrderRecord, __: unknown, context: SubgraphContext) => userIdOf(context.identity),
          secretNote: (order: OrderRecord, _: unknown, context: SubgraphContext) => {
            if (context.identity.kind === 'anonymous' || context.identity.userId !== order.ownerId) {
              throw new GraphQLError('Only the owner may read this note.', {
                extensions: { code: 'FORBIDDEN' },
              });
            }
            return `note of ${order.id}`;
          },
        },
        User: { __resolveReference: (reference: { id: string }) => users.get(reference.id) ?? null },
      } as never,
    },
  ]);

  const fills = await serveSubgraph('fills', fillsTypeDefs, fillsSchema);
  const orders = await serveSubgraph('orders', ordersTypeDefs, ordersSchema);
  const composed = composeServices([
    { name: 'fills', url: fills.url, typeDefs: parse(fillsTypeDefs) },
    { name: 'orders', url: orders.url, typeDefs: parse(ordersTypeDefs) },
  ]);
  if (composed.errors)
    throw new Error(`Composition failed: ${composed.errors.map((e) => e.message).join('; ')}`);

  return {
    fills,
    orders,
    supergraphSdl: composed.supergraphSdl,
    pubsub,
    orderRecords,
    publishFill: (userId, fill) => pubsub.publish(`fills:${userId}`, fill),
    publishTrade: (symbol, trade) => pubsub.publish(`trades:${symbol}`, { ...trade, symbol }),
    publishBookDelta(symbol) {
      const sequence = (bookSequence.get(symbol) ?? 0) + 1;
      bookSequence.set(symbol, sequence);
      return pubsub.publish(`book:${symbol}`, { kind: 'DELTA', sequence, symbol });
    },
    publishBookSnapshot(symbol) {
      return pubsub.publish(`book:${symbol}`, {
        kind: 'SNAPSHOT',
        sequence: bookSequence.get(symbol) ?? 0,
        symbol,
      });
    },
    async close() {
      await Promise.all([fills.close(), orders.close()]);
    },
  };
}
