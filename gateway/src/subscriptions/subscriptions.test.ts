/**
 * Black-box tests over real sockets: two Fed 2 subgraphs (graphql-ws + HTTP), the executor and the
 * graphql-ws server on a real HTTP server, graphql-ws clients (and a raw `ws` client where the
 * protocol itself is under test).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { anonymous, createLogger, type Identity, type Logger } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { parse } from 'graphql';
import { SubgraphDataSource } from '../subgraph-data-source.ts';
import {
  attachSubscriptionServer,
  authorizationFromConnectionParams,
  createSubscriptionExecutor,
  isSlowConsumerError,
  SubscriptionCloseCode,
  type FeedPolicy,
  type SubscriptionExecutor,
  type SubscriptionServer,
} from './index.ts';
import {
  signTestIdentity,
  startTestSubgraphs,
  testInternalSecret,
  type TestSubgraphs,
} from './test-services/harness.ts';

const logLines: string[] = [];
const logger: Logger = createLogger('subscriptions-test', 'debug', {}, (line) => {
  logLines.push(line);
  if (process.env['SUBSCRIPTIONS_TEST_LOG']) process.stderr.write(line + '\n');
});

function user(userId: string): Identity {
  return { kind: 'user', userId, role: 'USER', sessionId: `s-${userId}` };
}

/** Test tokens: `Bearer user:<id>`; `Bearer banned:<id>` is refused as FORBIDDEN. */
async function authenticate(params: Readonly<Record<string, unknown>>): Promise<Identity> {
  const authorization = params['authorization'];
  if (authorization === undefined) return anonymous;
  if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) {
    throw apiError('UNAUTHENTICATED', 'Expected "Bearer <token>".');
  }
  const [kind, id] = authorization.slice('Bearer '.length).split(':');
  if (kind === 'user' && id) return user(id);
  if (kind === 'banned') throw apiError('FORBIDDEN', 'This account may not subscribe.');
  throw apiError('UNAUTHENTICATED', 'Invalid or expired token.');
}

const bookFeed: FeedPolicy = {
  public: true,
  catchUp: {
    retain: (kept, event) => {
      const kind = (event.data?.['book'] as { kind?: string } | undefined)?.kind;
      return kind === 'SNAPSHOT' ? [event] : [...kept, event];
    },
    maxRetainedEvents: 6,
    resyncSlowSubscribers: true,
  },
};

let subgraphs: TestSubgraphs;
let executor: SubscriptionExecutor;
let server: SubscriptionServer;
let httpServer: http.Server;
let url: string;
const clients: Client[] = [];

beforeAll(async () => {
  subgraphs = await startTestSubgraphs();
  executor = createSubscriptionExecutor({
    supergraphSdl: subgraphs.supergraphSdl,
    signIdentity: signTestIdentity,
    logger,
    limits: { maxQueuedEventsPerSubscriber: 8 },
    feeds: { trades: { public: true }, book: bookFeed },
  });
  httpServer = http.createServer((_request, response) => response.writeHead(404).end());
  server = attachSubscriptionServer(httpServer, {
    executor,
    authenticate,
    logger,
    limits: { maxSubscriptionsPerConnection: 3, slowConsumerCloseGraceMs: 30_000 },
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/graphql`;
  subgraphs.orderRecords.set('o1', { id: 'o1', side: 'BUY', symbol: 'BTC-USDT', ownerId: 'u1' });
  subgraphs.orderRecords.set('o2', { id: 'o2', side: 'SELL', symbol: 'ETH-USDT', ownerId: 'u2' });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await waitFor(() => executor.stats().subscribers === 0 && executor.stats().upstreams === 0);
  // The subgraph side has seen every upstream subscription end too.
  await waitFor(() => [...subgraphs.pubsub.active.values()].every((count) => count === 0));
});

afterAll(async () => {
  await server?.close();
  await executor?.close();
  if (httpServer) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  await subgraphs?.close();
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function connect(token?: string): Client {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
  clients.push(client);
  return client;
}

/** A subscription that records everything it receives. */
interface Recording {
  readonly results: FormattedExecutionResult<Record<string, unknown>, unknown>[];
  error: unknown;
  completed: boolean;
  stop(): void;
}

function record(client: Client, query: string, variables: Record<string, unknown> = {}): Recording {
  const recording: Recording = {
    results: [],
    error: undefined,
    completed: false,
    stop: () => undefined,
  };
  recording.stop = client.subscribe<Record<string, unknown>>(
    { query, variables },
    {
      next: (value) => recording.results.push(value),
      error: (error) => {
        recording.error = error;
      },
      complete: () => {
        recording.completed = true;
      },
    },
  );
  return recording;
}

/** Publishes until every recording got at least one event (subscriptions start asynchronously). */
async function publishUntilDelivered(publish: () => void, recordings: readonly Recording[]): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!recordings.every((r) => r.results.length > 0)) {
    if (Date.now() > deadline) throw new Error('Events were not delivered.');
    publish();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const myFillsQuery = /* GraphQL */ `
  subscription MyFills($withOwner: Boolean!) {
    fill: myFills {
      __typename
      id
      ...FillPrice
      seenBy
      order {
        id
        side
        market {
          sym: symbol
        }
        owner @include(if: $withOwner) {
          email
        }
        seenBy
      }
    }
  }
  fragment FillPrice on Fill {
    priceTicks
  }
`;

describe('federated subscriptions through the gateway', () => {
  it('joins fields from both subgraphs on every event, shaped like the client selection', async () => {
    const client = connect('user:u1');
    const fills = record(client, myFillsQuery, { withOwner: true });
    await waitFor(() => subgraphs.pubsub.active.get('myFills') === 1);
    subgraphs.publishFill('u1', { id: 'f1', priceTicks: 100, orderId: 'o1' });
    subgraphs.publishFill('u1', { id: 'f2', priceTicks: 101, orderId: 'o1' });
    await waitFor(() => fills.results.length === 2);
    expect(fills.results[0]).toEqual({
      data: {
        fill: {
          __typename: 'Fill',
          id: 'f1',
          priceTicks: 100,
          seenBy: 'u1',
          order: {
            id: 'o1',
            side: 'BUY',
            market: { sym: 'BTC-USDT' },
            owner: { email: 'ada@example.com' },
            seenBy: 'u1',
          },
        },
      },
    });
    expect((fills.results[1]?.data?.['fill'] as { id: string }).id).toBe('f2');
  });

  it('honours variables in the rest of the plan (@include false drops the field)', async () => {
    const client = connect('user:u1');
    const fills = record(client, myFillsQuery, { withOwner: false });
    await waitFor(() => subgraphs.pubsub.active.get('myFills') === 1);
    subgraphs.publishFill('u1', { id: 'f3', priceTicks: 7, orderId: 'o1' });
    await waitFor(() => fills.results.length === 1);
    const order = (fills.results[0]?.data?.['fill'] as { order: Record<string, unknown> }).order;
    expect(order).not.toHaveProperty('owner');
    expect(order['side']).toBe('BUY');
  });

  it('forwards the subscriber identity to the owning subgraph (connection_init and upgrade header) and to entity fetches', async () => {
    subgraphs.fills.seen.length = 0;
    subgraphs.orders.seen.length = 0;
    const client = connect('user:u2');
    const fills = record(client, myFillsQuery, { withOwner: false });
    await waitFor(() => subgraphs.pubsub.active.get('myFills') === 1);
    subgraphs.publishFill('u2', { id: 'f4', priceTicks: 5, orderId: 'o2' });
    await waitFor(() => fills.results.length === 1);
    expect(subgraphs.fills.seen).toEqual([{ via: 'ws', userId: 'u2', headerMatches: true }]);
    expect(subgraphs.orders.seen).toEqual([{ via: 'http', userId: 'u2' }]);
    const fill = fills.results[0]?.data?.['fill'] as { seenBy: string; order: { seenBy: string } };
    expect(fill.seenBy).toBe('u2');
    expect(fill.order.seenBy).toBe('u2');
  });

  it('keeps per-user feeds per identity: one upstream per user, nobody sees another user’s fills', async () => {
    const ada = record(connect('user:u1'), myFillsQuery, { withOwner: false });
    const adaAgain = record(connect('user:u1'), myFillsQuery, { withOwner: false });
    const bob = record(connect('user:u2'), myFillsQuery, { withOwner: false });
    await waitFor(() => executor.stats().subscribers === 3);
    await waitFor(() => subgraphs.pubsub.active.get('myFills') === 2);
    expect(executor.stats().upstreams).toBe(2);
    subgraphs.publishFill('u1', { id: 'f5', priceTicks: 1, orderId: 'o1' });
    await waitFor(() => ada.results.length === 1 && adaAgain.results.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bob.results).toEqual([]);
  });

  it('shares one upstream among all subscribers of a public feed whatever their identity, and closes it with the last', async () => {
    const opened = subgraphs.pubsub.opened.get('trades') ?? 0;
    const tokens = [undefined, 'user:u1', 'user:u2', 'user:u3', 'user:u4'];
    const recordings = tokens.map((token) =>
      record(connect(token), 'subscription { trades(symbol: "BTC-USDT") { id symbol } }'),
    );
    await waitFor(() => executor.stats().subscribers === tokens.length);
    await publishUntilDelivered(
      () => subgraphs.publishTrade('BTC-USDT', { id: 't1', orderId: 'o1' }),
      recordings,
    );
    expect(subgraphs.pubsub.active.get('trades')).toBe(1);
    expect((subgraphs.pubsub.opened.get('trades') ?? 0) - opened).toBe(1);
    expect(executor.stats()).toMatchObject({ upstreams: 1, groups: 1, subscribers: 5 });
    // The public upstream is opened as anonymous, never as one of its subscribers.
    expect(subgraphs.fills.seen.at(-1)).toMatchObject({ via: 'ws', userId: 'anonymous' });
    for (const recording of recordings) {
      expect(recording.results.at(-1)).toEqual({ data: { trades: { id: 't1', symbol: 'BTC-USDT' } } });
    }
    for (const recording of recordings.slice(0, 4)) recording.stop();
    await waitFor(() => executor.stats().subscribers === 1);
    expect(subgraphs.pubsub.active.get('trades')).toBe(1);
    recordings[4]?.stop();
    await waitFor(() => subgraphs.pubsub.active.get('trades') === 0);
    expect(executor.stats()).toMatchObject({ upstreams: 0, groups: 0, subscribers: 0 });
  });

  it('runs the rest of a public feed per identity while still sharing its upstream', async () => {
    const query = 'subscription { trades(symbol: "ETH-USDT") { id order { side seenBy } } }';
    const ada = record(connect('user:u1'), query);
    const bob = record(connect('user:u2'), query);
    await waitFor(() => executor.stats().subscribers === 2);
    await publishUntilDelivered(
      () => subgraphs.publishTrade('ETH-USDT', { id: 't2', orderId: 'o2' }),
      [ada, bob],
    );
    expect(subgraphs.pubsub.active.get('trades')).toBe(1);
    expect(executor.stats()).toMatchObject({ upstreams: 1, groups: 2 });
    expect(ada.results.at(-1)).toEqual({
      data: { trades: { id: 't2', order: { side: 'SELL', seenBy: 'u1' } } },
    });
    expect(bob.results.at(-1)).toEqual({
      data: { trades: { id: 't2', order: { side: 'SELL', seenBy: 'u2' } } },
    });
  });

  it('returns errors of the rest fetches in that event’s errors with the subgraph’s code, and the stream goes on', async () => {
    const bob = record(
      connect('user:u2'),
      'subscription { trades(symbol: "BTC-USDT") { id order { id secretNote } } }',
    );
    await waitFor(() => executor.stats().subscribers === 1);
    await publishUntilDelivered(() => subgraphs.publishTrade('BTC-USDT', { id: 't3', orderId: 'o1' }), [bob]);
    const event = bob.results.at(-1);
    expect(event?.data).toEqual({ trades: { id: 't3', order: { id: 'o1', secretNote: null } } });
    expect(event?.errors).toEqual([
      expect.objectContaining({
        message: 'Only the owner may read this note.',
        path: ['trades', 'order', 'secretNote'],
        extensions: { code: 'FORBIDDEN' },
      }),
    ]);
    const before = bob.results.length;
    subgraphs.publishTrade('BTC-USDT', { id: 't4', orderId: 'o1' });
    await waitFor(() => bob.results.length > before);
    expect(bob.error).toBeUndefined();
  });

  it('gives a late joiner of a catch-up feed the last SNAPSHOT and the DELTAs since, then live events', async () => {
    const first = record(connect(), 'subscription { book(symbol: "SOL-USDT") { kind sequence } }');
    await waitFor(() => first.results.length === 1);
    subgraphs.publishBookDelta('SOL-USDT');
    subgraphs.publishBookDelta('SOL-USDT');
    await waitFor(() => first.results.length === 3);
    const late = record(connect('user:u2'), 'subscription { book(symbol: "SOL-USDT") { kind sequence } }');
    await waitFor(() => late.results.length === 3);
    subgraphs.publishBookDelta('SOL-USDT');
    await waitFor(() => late.results.length === 4 && first.results.length === 4);
    expect(subgraphs.pubsub.active.get('book')).toBe(1);
    const sequences = (r: Recording) =>
      r.results.map((e) => e.data?.['book'] as { kind: string; sequence: number });
    expect(sequences(late)).toEqual(sequences(first));
    expect(sequences(late)).toEqual([
      { kind: 'SNAPSHOT', sequence: 0 },
      { kind: 'DELTA', sequence: 1 },
      { kind: 'DELTA', sequence: 2 },
      { kind: 'DELTA', sequence: 3 },
    ]);
  });

  it('completes the client subscription when the subgraph completes its stream', async () => {
    const trades = record(connect(), 'subscription { trades(symbol: "END-USDT") { id } }');
    await waitFor(() => subgraphs.pubsub.active.get('trades') === 1);
    await publishUntilDelivered(
      () => subgraphs.publishTrade('END-USDT', { id: 't5', orderId: 'o1' }),
      [trades],
    );
    subgraphs.pubsub.end('trades:END-USDT');
    await waitFor(() => trades.completed);
    expect(trades.error).toBeUndefined();
  });

  it('ends the client subscription with SERVICE_UNAVAILABLE when the subgraph connection is lost', async () => {
    const trades = record(connect('user:u1'), 'subscription { trades(symbol: "BTC-USDT") { id } }');
    const fills = record(connect('user:u1'), myFillsQuery, { withOwner: false });
    await waitFor(
      () => subgraphs.pubsub.active.get('trades') === 1 && subgraphs.pubsub.active.get('myFills') === 1,
    );
    subgraphs.fills.terminateSockets();
    await waitFor(() => trades.error !== undefined && fills.error !== undefined);
    expect(trades.error).toEqual([expect.objectContaining({ extensions: { code: 'SERVICE_UNAVAILABLE' } })]);
    expect(fills.error).toEqual([expect.objectContaining({ extensions: { code: 'SERVICE_UNAVAILABLE' } })]);
    await waitFor(() => executor.stats().upstreams === 0 && executor.stats().upstreamConnections === 0);
    // Resubscribing opens a new upstream.
    const again = record(connect('user:u1'), 'subscription { trades(symbol: "BTC-USDT") { id } }');
    await publishUntilDelivered(
      () => subgraphs.publishTrade('BTC-USDT', { id: 't6', orderId: 'o1' }),
      [again],
    );
  });

  it('passes the subgraph’s own refusal through (anonymous myFills is UNAUTHENTICATED)', async () => {
    const fills = record(connect(), myFillsQuery, { withOwner: false });
    await waitFor(() => fills.completed || fills.error !== undefined);
    expect(fills.results).toEqual([
      { data: null, errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })] },
    ]);
  });
});

/** Connects with a raw `ws` socket speaking graphql-transport-ws; resolves with the close event. */
function rawSocket(connectionParams: Record<string, unknown> | undefined): {
  socket: WebSocket;
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
} {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: Record<string, unknown>[] = [];
  socket.on('message', (data: Buffer) =>
    messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>),
  );
  socket.on('open', () => {
    socket.send(
      JSON.stringify({ type: 'connection_init', ...(connectionParams ? { payload: connectionParams } : {}) }),
    );
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  return { socket, messages, closed };
}

describe('the client-facing graphql-ws server', () => {
  it('closes a connection with a bad token with 4401 and a clear reason', async () => {
    const { closed } = rawSocket({ authorization: 'Bearer nonsense' });
    expect(await closed).toEqual({
      code: SubscriptionCloseCode.Unauthorized,
      reason: 'Invalid or expired token.',
    });
  });

  it('closes a forbidden connection with 4403', async () => {
    const { closed } = rawSocket({ authorization: 'Bearer banned:u9' });
    expect(await closed).toEqual({
      code: SubscriptionCloseCode.Forbidden,
      reason: 'This account may not subscribe.',
    });
  });

  it('answers upgrades on /graphql only', async () => {
    const socket = new WebSocket(url.replace('/graphql', '/other'), 'graphql-transport-ws');
    const status = await new Promise<number | undefined>((resolve) => {
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode));
      socket.on('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
  });

  it('refuses invalid documents and queries with error messages, keeping the connection', async () => {
    const client = connect('user:u1');
    const invalid = record(client, 'subscription { trades(symbol: "BTC-USDT") { nope } }');
    const query = record(client, '{ order(id: "o1") { id } }');
    const syntax = record(client, 'subscription {');
    await waitFor(
      () => invalid.error !== undefined && query.error !== undefined && syntax.error !== undefined,
    );
    expect(invalid.error).toEqual([
      expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    ]);
    expect(query.error).toEqual([expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })]);
    expect(syntax.error).toEqual([expect.objectContaining({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } })]);
    const ok = record(client, 'subscription { trades(symbol: "BTC-USDT") { id } }');
    await publishUntilDelivered(() => subgraphs.publishTrade('BTC-USDT', { id: 't7', orderId: 'o1' }), [ok]);
  });

  it('refuses variables that do not coerce', async () => {
    const bad = record(connect(), 'subscription ($s: String!) { trades(symbol: $s) { id } }', { s: 42 });
    await waitFor(() => bad.completed || bad.error !== undefined);
    expect(bad.results).toEqual([
      { errors: [expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })] },
    ]);
  });

  it('limits subscriptions per connection', async () => {
    const client = connect('user:u1');
    const open = [1, 2, 3].map((i) => record(client, `subscription { trades(symbol: "L${i}") { id } }`));
    await waitFor(() => executor.stats().subscribers === 3);
    const fourth = record(client, 'subscription { trades(symbol: "L4") { id } }');
    await waitFor(() => fourth.error !== undefined);
    expect(fourth.error).toEqual([expect.objectContaining({ extensions: { code: 'LIMIT_EXCEEDED' } })]);
    expect(open.every((r) => r.error === undefined)).toBe(true);
  });

  it('closes a socket whose messages exceed the size limit with 1009', async () => {
    const { socket, closed } = rawSocket({ authorization: 'Bearer user:u1' });
    await new Promise((resolve) => socket.once('message', resolve));
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: `subscription { trades(symbol: "${'x'.repeat(70_000)}") { id } }` },
      }),
    );
    expect((await closed).code).toBe(1009);
  });

  it('disconnects a client that stops reading with 4008 instead of buffering without bound', async () => {
    const { socket, messages, closed } = rawSocket({ authorization: 'Bearer user:u1' });
    await new Promise((resolve) => socket.once('message', resolve));
    socket.send(
      JSON.stringify({
        id: 'slow',
        type: 'subscribe',
        payload: { query: 'subscription { trades(symbol: "SLOW") { id padding(bytes: 65536) } }' },
      }),
    );
    await waitFor(() => subgraphs.pubsub.active.get('trades') === 1);
    socket.pause();
    const logged = () => logLines.some((line) => line.includes('slow consumer disconnected'));
    let published = 0;
    while (!logged() && published < 5_000) {
      subgraphs.publishTrade('SLOW', { id: `s${published}`, orderId: 'o1' });
      published += 1;
      if (published % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(logged()).toBe(true);
    socket.resume();
    const { code } = await closed;
    expect(code).toBe(SubscriptionCloseCode.SlowConsumer);
    const delivered = messages.filter((m) => m['type'] === 'next').length;
    expect(delivered).toBeLessThan(published);
    await waitFor(() => subgraphs.pubsub.active.get('trades') === 0);
  });
});

describe('wiring with the HTTP gateway’s parts', () => {
  it('runs rest fetches through the gateway’s SubgraphDataSource, which reads the same fetch context', async () => {
    const wired = createSubscriptionExecutor({
      supergraphSdl: subgraphs.supergraphSdl,
      signIdentity: signTestIdentity,
      logger,
      createDataSource: (name, url) =>
        new SubgraphDataSource({
          name,
          url,
          signer: { internalTokenSecret: testInternalSecret, internalTokenTtlSeconds: 60 },
          logger,
          timeoutMs: 5_000,
        }),
    });
    try {
      const stream = wired.subscribe({
        document: parse('subscription { myFills { id order { side seenBy secretNote } } }'),
        identity: user('u2'),
      });
      await waitFor(() => subgraphs.pubsub.active.get('myFills') === 1);
      subgraphs.publishFill('u2', { id: 'w1', priceTicks: 3, orderId: 'o1' });
      const event = await stream.next();
      expect(event.value?.data).toEqual({
        myFills: { id: 'w1', order: { side: 'BUY', seenBy: 'u2', secretNote: null } },
      });
      expect(event.value?.errors?.map((e) => e.extensions['code'])).toEqual(['FORBIDDEN']);
      await stream.return(undefined);
    } finally {
      await wired.close();
    }
  });

  it('reads the bearer credential from connection_init', () => {
    expect(authorizationFromConnectionParams({ authorization: 'Bearer abc' })).toBe('Bearer abc');
    expect(authorizationFromConnectionParams({ Authorization: 'Bearer abc' })).toBe('Bearer abc');
    expect(authorizationFromConnectionParams({})).toBeUndefined();
    expect(() => authorizationFromConnectionParams({ authorization: 42 })).toThrow(
      'must be "Bearer <token>"',
    );
  });
});

describe('queries and mutations over the socket', () => {
  it('are run by the executeOperation hook when one is given, with the connection identity', async () => {
    const seen: { identity: Identity; operationName: string | null | undefined }[] = [];
    const other = http.createServer();
    const otherServer = attachSubscriptionServer(other, {
      executor,
      authenticate,
      logger,
      executeOperation: async (request) => {
        seen.push({ identity: request.identity, operationName: request.operationName });
        return { data: { order: { id: 'o1' } } };
      },
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const client = createClient({
      url: `ws://127.0.0.1:${(other.address() as AddressInfo).port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: 'Bearer user:u1' },
    });
    try {
      const results: unknown[] = [];
      for await (const result of client.iterate({ query: 'query One { order(id: "o1") { id } }' }))
        results.push(result);
      expect(results).toEqual([{ data: { order: { id: 'o1' } } }]);
      expect(seen).toEqual([{ identity: user('u1'), operationName: 'One' }]);
    } finally {
      await client.dispose();
      await otherServer.close();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});

describe('the executor on its own', () => {
  const document = parse('subscription { trades(symbol: "Q") { id } }');

  it('drops a subscriber that does not read after maxQueuedEventsPerSubscriber events (LIMIT_EXCEEDED / SLOW_CONSUMER)', async () => {
    const stream = executor.subscribe({ document, identity: user('u1') });
    await waitFor(() => subgraphs.pubsub.active.get('trades') === 1);
    for (let i = 0; i < 9; i++) subgraphs.publishTrade('Q', { id: `q${i}`, orderId: 'o1' });
    await waitFor(() => executor.stats().subscribers === 0);
    const failure = await stream.next().catch((error: unknown) => error);
    expect(isSlowConsumerError(failure)).toBe(true);
    expect((failure as { extensions: unknown }).extensions).toEqual({
      code: 'LIMIT_EXCEEDED',
      reason: 'SLOW_CONSUMER',
    });
    await waitFor(() => subgraphs.pubsub.active.get('trades') === 0);
  });

  /** Two anonymous subscribers of one book feed: the first is read late, the second at once. */
  const bookSubscribers = (symbol: string) =>
    [0, 1].map(() =>
      executor.subscribe({
        document: parse(`subscription { book(symbol: "${symbol}") { kind sequence } }`),
        identity: anonymous,
      }),
    ) as [ReturnType<typeof executor.subscribe>, ReturnType<typeof executor.subscribe>];

  /** The book events a stream holds, until none arrives for 100 ms. */
  async function readUntilIdle(stream: ReturnType<typeof executor.subscribe>) {
    const received: { kind: string; sequence: number }[] = [];
    for (;;) {
      const next = await Promise.race([
        stream.next(),
        new Promise<'idle'>((resolve) => setTimeout(() => resolve('idle'), 100)),
      ]);
      if (next === 'idle' || next.done) return received;
      received.push(next.value.data?.['book'] as { kind: string; sequence: number });
    }
  }

  it('resynchronises a slow subscriber of a catch-up feed from the last SNAPSHOT instead of dropping it', async () => {
    const [stream, reader] = bookSubscribers('R');
    await waitFor(() => subgraphs.pubsub.active.get('book') === 1);
    // Keep one subscriber reading so the feed's events are executed and retained.
    const readerDone = (async () => {
      for await (const _ of reader) {
        /* drain */
      }
    })();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) subgraphs.publishBookDelta('R');
      subgraphs.publishBookSnapshot('R');
    }
    subgraphs.publishBookDelta('R');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const received = await readUntilIdle(stream);
    await stream.return(undefined);
    await reader.return(undefined);
    await readerDone;
    // The stream was replaced by the latest snapshot and the deltas since: no gap after a SNAPSHOT.
    expect(received.at(-1)).toEqual({ kind: 'DELTA', sequence: 17 });
    expect(received.length).toBeLessThanOrEqual(8);
    const lastSnapshot = received.map((e) => e.kind).lastIndexOf('SNAPSHOT');
    expect(received[lastSnapshot]).toEqual({ kind: 'SNAPSHOT', sequence: 16 });
    for (let i = lastSnapshot + 1; i < received.length; i++) {
      expect(received[i]?.sequence).toBe((received[i - 1]?.sequence ?? 0) + 1);
    }
  });

  it('moves a slow subscriber to a fresh upstream, whose SNAPSHOT resynchronises it, once its feed keeps no more events', async () => {
    const [stream, reader] = bookSubscribers('F');
    await waitFor(() => subgraphs.pubsub.active.get('book') === 1);
    const readerEvents: number[] = [];
    const readerDone = (async () => {
      for await (const event of reader)
        readerEvents.push((event.data?.['book'] as { sequence: number }).sequence);
    })();
    await waitFor(() => readerEvents.length === 1); // the first SNAPSHOT
    // More DELTAs than the feed keeps (6) and the stream's queue holds (8): no resync from kept events.
    for (let i = 0; i < 10; i++) subgraphs.publishBookDelta('F');
    await waitFor(() => subgraphs.pubsub.active.get('book') === 2);
    await waitFor(() => readerEvents.length === 11);
    subgraphs.publishBookDelta('F');
    subgraphs.publishBookDelta('F');
    await waitFor(() => readerEvents.length === 13);
    const received = await readUntilIdle(stream);
    // Not dropped: a fresh SNAPSHOT, then every DELTA after it.
    const lastSnapshot = received.map((e) => e.kind).lastIndexOf('SNAPSHOT');
    expect(lastSnapshot).toBeGreaterThanOrEqual(0);
    expect(received.at(-1)).toEqual({ kind: 'DELTA', sequence: 12 });
    for (let i = lastSnapshot + 1; i < received.length; i++)
      expect(received[i]?.sequence).toBe((received[i - 1]?.sequence ?? 0) + 1);
    await stream.return(undefined);
    await waitFor(() => subgraphs.pubsub.active.get('book') === 1);
    await reader.return(undefined);
    await readerDone;
    await waitFor(() => (subgraphs.pubsub.active.get('book') ?? 0) === 0);
    expect(executor.stats()).toMatchObject({ upstreams: 0, groups: 0, subscribers: 0 });
  });

  it('delivers a burst of events in upstream order, each joined with the other subgraph', async () => {
    const roomy = createSubscriptionExecutor({
      supergraphSdl: subgraphs.supergraphSdl,
      signIdentity: signTestIdentity,
      logger,
    });
    try {
      const stream = roomy.subscribe({
        document: parse('subscription { trades(symbol: "BURST") { id order { side } } }'),
        identity: user('u1'),
      });
      await waitFor(() => subgraphs.pubsub.active.get('trades') === 1);
      const burst = 300;
      for (let i = 0; i < burst; i++)
        subgraphs.publishTrade('BURST', { id: `b${i}`, orderId: i % 2 ? 'o1' : 'o2' });
      const ids: string[] = [];
      for await (const event of stream) {
        const trade = event.data?.['trades'] as { id: string; order: { side: string } };
        expect(trade.order.side).toBe(Number(trade.id.slice(1)) % 2 ? 'BUY' : 'SELL');
        ids.push(trade.id);
        if (ids.length === burst) break;
      }
      expect(ids).toEqual(Array.from({ length: burst }, (_, i) => `b${i}`));
    } finally {
      await roomy.close();
    }
  });

  it('ends a group whose rest-of-plan fetches fall too far behind with SERVICE_UNAVAILABLE', async () => {
    const tight = createSubscriptionExecutor({
      supergraphSdl: subgraphs.supergraphSdl,
      signIdentity: signTestIdentity,
      logger,
      limits: { maxPendingEventsPerGroup: 4, maxConcurrentExecutionsPerGroup: 1 },
    });
    try {
      const stream = tight.subscribe({
        document: parse('subscription { trades(symbol: "FLOOD") { id order { side } } }'),
        identity: user('u1'),
      });
      await waitFor(() => subgraphs.pubsub.active.get('trades') === 1);
      for (let i = 0; i < 50; i++) subgraphs.publishTrade('FLOOD', { id: `x${i}`, orderId: 'o1' });
      const failure = await (async () => {
        try {
          for await (const _ of stream) {
            /* drain */
          }
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      expect(failure).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      await waitFor(() => tight.stats().upstreams === 0);
    } finally {
      await tight.close();
    }
  });

  it('ends subscriptions with SERVICE_UNAVAILABLE when a subgraph stops answering pings', async () => {
    const watchful = createSubscriptionExecutor({
      supergraphSdl: subgraphs.supergraphSdl,
      signIdentity: signTestIdentity,
      logger,
      limits: { upstreamKeepAliveMs: 100 },
    });
    try {
      const stream = watchful.subscribe({
        document: parse('subscription { trades(symbol: "HANG") { id } }'),
        identity: anonymous,
      });
      await waitFor(() => subgraphs.pubsub.active.get('trades') === 1);
      subgraphs.fills.pauseSockets();
      const failure = await stream.next().catch((error: unknown) => error);
      expect(failure).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      expect(watchful.stats()).toMatchObject({ upstreams: 0, upstreamConnections: 0, subscribers: 0 });
    } finally {
      subgraphs.fills.terminateSockets();
      await watchful.close();
    }
  });

  it('answers an operation that is not a subscription with one error result', async () => {
    const stream = executor.subscribe({ document: parse('{ order(id: "o1") { id } }'), identity: anonymous });
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(first.value?.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect((await stream.next()).done).toBe(true);
  });
});
