/**
 * market-data live on the real in-process core: queries over HTTP and subscriptions over a real
 * graphql-ws client. Events come from commands (funded users placing crossing orders).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMemoryBus, signInternalIdentity, type Bus } from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  type TestDatabase,
} from '@graphex/runtime/testing';
import type { CoreClient } from '@graphex/schema';
import type { OrderBookEventView, TickerView, TradeView } from './domain/views.ts';
import { BookFeedHub } from './feeds/book-feed.ts';
import {
  createMarketDataService,
  marketDataMigrationsDir,
  marketDataSchemaName,
  type MarketDataService,
} from './index.ts';
import {
  eventually,
  fund,
  limit,
  place,
  startTestCore,
  tradeScenario,
  type TestCore,
} from './test-fixtures.ts';
import { connectWs, orderBookSubscription, replayBook, type TestWsClient } from './ws-test-client.ts';

const config = testConfig();
const bookQuery = `query ($symbol: String!, $depth: Int) {
  orderBook(symbol: $symbol, depth: $depth) { symbol sequence bids { price quantity } asks { price quantity } }
}`;

type BookResult = { orderBook: { sequence: string; bids: unknown[]; asks: unknown[] } };

describe('market-data live', () => {
  let core: TestCore;
  let testDb: TestDatabase;
  let bus: Bus;
  let service: MarketDataService;
  const clients: TestWsClient[] = [];
  const start = (): Promise<MarketDataService> =>
    createMarketDataService({
      config,
      db: testDb.db,
      port: 0,
      logger: testLogger,
      coreClient: core.core,
      bus,
    });
  const caughtUp = async (): Promise<void> => {
    const last = await core.core.lastEventSeq();
    await eventually(() => service.projection.position === last);
  };
  const ws = async (): Promise<TestWsClient> => {
    const client = await connectWs(service.url, config.internalTokenSecret);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    core = await startTestCore();
    await tradeScenario(core.core, ['maker-live-1', 'taker-live-2']);
    testDb = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
    bus = createMemoryBus();
    service = await start();
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose().catch(() => undefined);
    await service?.close();
    await bus?.close();
    await testDb?.dispose();
    await core?.dispose();
  });

  it('reports ready on /health only once the projection caught up', async () => {
    await eventually(async () => (await fetch(service.url.replace('/graphql', '/health'))).status === 200);
    expect(service.projection.caughtUp).toBe(true);
    expect(service.projection.position).toBe(await core.core.lastEventSeq());
  });

  it('answers /health 503 while the projection has not caught up with the core', async () => {
    // The real core, with its deliveries held back until the gate opens (events stay the core's own).
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gated: CoreClient = {
      submit: (command) => core.core.submit(command),
      lastEventSeq: () => core.core.lastEventSeq(),
      close: async () => undefined,
      subscribe: (after, handler, onError) =>
        core.core.subscribe(
          after,
          async (events) => {
            await gate;
            await handler(events);
          },
          onError,
        ),
    };
    const other = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
    const lagging = await createMarketDataService({
      config,
      db: other.db,
      port: 0,
      logger: testLogger,
      coreClient: gated,
      bus,
    });
    try {
      const health = (): Promise<number> =>
        fetch(lagging.url.replace('/graphql', '/health')).then((response) => response.status);
      expect(await health()).toBe(503);
      open();
      await eventually(async () => (await health()) === 200);
      expect(lagging.projection.position).toBe(await core.core.lastEventSeq());
    } finally {
      await lagging.close();
      await other.dispose();
    }
  });

  it('serves the order book from memory: bids desc, asks asc, sequence = bookSeq, bounded depth', async () => {
    const result = await callSubgraph<BookResult>(service.url, bookQuery, { symbol: 'BTC-USDT', depth: 2 });
    expect(result.errors).toBeUndefined();
    const market = service.projection.market('BTC-USDT')!;
    expect(result.data?.orderBook).toEqual({
      symbol: 'BTC-USDT',
      sequence: String(service.projection.book(market.marketId)!.bookSeq),
      bids: [
        { price: '29989', quantity: '0.0008' },
        { price: '29988', quantity: '0.001' },
      ],
      asks: [
        { price: '30001', quantity: '0.0005' },
        { price: '30002', quantity: '0.001' },
      ],
    });
    const full = await callSubgraph<BookResult>(service.url, bookQuery, { symbol: 'BTC-USDT' });
    expect(full.data?.orderBook.bids).toHaveLength(4);
    const empty = await callSubgraph<BookResult>(service.url, bookQuery, { symbol: 'ETH-BTC', depth: 500 });
    expect(empty.data?.orderBook).toEqual({ symbol: 'ETH-BTC', sequence: '0', bids: [], asks: [] });
    for (const depth of [0, -1, 501]) {
      const refused = await callSubgraph(service.url, bookQuery, { symbol: 'BTC-USDT', depth });
      expect(refused.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    }
    for (const symbol of ['DOGE-USDT', 'btc-usdt', '']) {
      const unknown = await callSubgraph(service.url, bookQuery, { symbol });
      expect(unknown.errors?.[0]?.extensions?.['code']).toBe('MARKET_NOT_FOUND');
    }
  });

  it('serves trades newest first, candles and tickers with exact decimals; refuses bad arguments', async () => {
    const trades = await callSubgraph<{ trades: TradeView[] }>(
      service.url,
      '{ trades(symbol: "BTC-USDT", limit: 3) { id symbol price quantity takerSide createdAt } }',
    );
    expect(trades.data?.trades.map((t) => [t.price, t.quantity, t.takerSide])).toEqual([
      ['29989', '0.0002', 'SELL'],
      ['29990', '0.001', 'SELL'],
      ['30001', '0.0005', 'BUY'],
    ]);
    expect(Number(trades.data!.trades[0]!.id)).toBeGreaterThan(Number(trades.data!.trades[1]!.id));
    const candles = await callSubgraph<{ candles: Array<Record<string, string>> }>(
      service.url,
      '{ candles(symbol: "BTC-USDT", interval: "1d") { openTime open high low close volume } }',
    );
    expect(candles.data?.candles).toHaveLength(1);
    expect(candles.data?.candles[0]).toMatchObject({
      open: '30000',
      high: '30001',
      low: '29989',
      close: '29989',
      volume: '0.0027',
    });
    const tickers = await callSubgraph<{ tickers: TickerView[] }>(
      service.url,
      '{ tickers { symbol last bestBid bestAsk open24h high24h low24h volume24h } }',
    );
    expect(tickers.data?.tickers).toEqual([
      {
        symbol: 'BTC-USDT',
        last: '29989',
        bestBid: '29989',
        bestAsk: '30001',
        open24h: '30000',
        high24h: '30001',
        low24h: '29989',
        volume24h: '0.0027',
      },
      {
        symbol: 'ETH-BTC',
        last: null,
        bestBid: null,
        bestAsk: null,
        open24h: null,
        high24h: null,
        low24h: null,
        volume24h: '0',
      },
      {
        symbol: 'ETH-USDT',
        last: null,
        bestBid: null,
        bestAsk: null,
        open24h: null,
        high24h: null,
        low24h: null,
        volume24h: '0',
      },
    ]);
    const bad = [
      '{ candles(symbol: "BTC-USDT", interval: "15m") { open } }',
      '{ candles(symbol: "BTC-USDT", interval: "1m", limit: 0) { open } }',
      '{ candles(symbol: "BTC-USDT", interval: "1m", limit: 1001) { open } }',
      '{ trades(symbol: "BTC-USDT", limit: 0) { id } }',
      '{ trades(symbol: "BTC-USDT", limit: 1001) { id } }',
    ];
    for (const query of bad) {
      const refused = await callSubgraph(service.url, query);
      expect(refused.errors?.[0]?.extensions?.['code'], query).toBe('BAD_USER_INPUT');
    }
    const unknown = await callSubgraph(service.url, '{ trades(symbol: "NOPE-USDT") { id } }');
    expect(unknown.errors?.[0]?.extensions?.['code']).toBe('MARKET_NOT_FOUND');
  });

  it('streams a SNAPSHOT then contiguous DELTAs that rebuild the queried book at the same sequence', async () => {
    const client = await ws();
    const stream = client.subscribe<OrderBookEventView>(orderBookSubscription, {
      symbol: 'BTC-USDT',
      depth: 3,
    });
    const snapshot = await stream.nth(0);
    expect(snapshot.kind).toBe('SNAPSHOT');
    // Book changes inside and outside the depth-3 window, a trade that removes a level, a cancel-all.
    const maker = 'maker-live-1';
    await place(core.core, limit(maker, 'BUY', 2_998_950, 100)); // inside (new best bid)
    await place(core.core, limit(maker, 'BUY', 2_990_000, 100)); // far behind the window
    await place(core.core, limit('taker-live-2', 'BUY', 3_000_100, 50)); // takes 30001 out
    await core.core.submit({ type: 'CancelAll', userId: maker, marketId: null });
    const market = service.projection.market('BTC-USDT')!;
    await caughtUp();
    const target = service.projection.book(market.marketId)!.bookSeq;
    await stream.until((values) => Number(values[values.length - 1]!.sequence) === target);
    const replayed = replayBook(stream.values);
    expect(replayed.sequence).toBe(target);
    expect(stream.values.filter((e) => e.kind === 'SNAPSHOT')).toHaveLength(1);
    expect(stream.values.length).toBe(1 + target - Number(snapshot.sequence));
    const queried = await callSubgraph<BookResult>(service.url, bookQuery, { symbol: 'BTC-USDT', depth: 3 });
    expect(queried.data?.orderBook.sequence).toBe(String(target));
    expect({ bids: replayed.bids, asks: replayed.asks }).toEqual({
      bids: queried.data?.orderBook.bids,
      asks: queried.data?.orderBook.asks,
    });
    expect(stream.errors).toEqual([]);
    stream.stop();
  });

  it('streams trades and tickers', async () => {
    const client = await ws();
    const trades = client.subscribe<TradeView>(
      'subscription { trades(symbol: "BTC-USDT") { id symbol price quantity takerSide createdAt } }',
    );
    const tickers = client.subscribe<TickerView>(
      'subscription { ticker(symbol: "BTC-USDT") { symbol last bestBid bestAsk volume24h } }',
    );
    const first = await tickers.nth(0);
    expect(first.symbol).toBe('BTC-USDT');
    await fund(core.core, 'maker-live-3');
    await place(core.core, limit('maker-live-3', 'SELL', 3_100_000, 100));
    await place(core.core, limit('taker-live-2', 'BUY', 3_100_000, 100));
    await trades.until((values) => values.length === 1);
    expect(trades.values[0]).toMatchObject({
      symbol: 'BTC-USDT',
      price: '31000',
      quantity: '0.001',
      takerSide: 'BUY',
    });
    await tickers.until((values) => values.some((t) => t.last === '31000'));
    expect(tickers.values[tickers.values.length - 1]!.last).toBe('31000');
    trades.stop();
    tickers.stop();
  });

  it('gives a subscriber that falls behind a fresh SNAPSHOT instead of buffering', async () => {
    const market = service.projection.market('BTC-USDT')!;
    // A hub with a 4-event queue per subscriber, on the service's bus and projection.
    const hub = new BookFeedHub(bus, service.projection, testLogger, { maxQueuedEventsPerSubscriber: 4 });
    const stream = await hub.subscribe(market, 10);
    const first = (await stream.next()).value as OrderBookEventView;
    expect(first.kind).toBe('SNAPSHOT');
    // More book events than the subscriber's queue (4) while it does not read.
    for (let i = 0; i < 8; i++)
      await place(core.core, limit('maker-live-3', 'SELL', 3_200_000 + i * 100, 100));
    await caughtUp();
    const target = service.projection.book(market.marketId)!.bookSeq;
    const resends = hub.stats().snapshotResends;
    const next = (await stream.next()).value as OrderBookEventView;
    expect(next.kind).toBe('SNAPSHOT');
    expect(Number(next.sequence)).toBe(target);
    expect(hub.stats().snapshotResends).toBe(resends + 1);
    await place(core.core, limit('maker-live-3', 'SELL', 3_300_000, 100));
    const delta = (await stream.next()).value as OrderBookEventView;
    expect(delta).toMatchObject({ kind: 'DELTA', sequence: String(target + 1) });
    await stream.return?.();
    await hub.close();
  });

  it('resynchronises book subscribers with a fresh SNAPSHOT when the bus loses a message', async () => {
    // A bus that silently drops one book message when told to (at-most-once delivery).
    const inner = createMemoryBus();
    let dropNextBookMessage = false;
    let dropped = 0;
    const lossy: Bus = {
      ...inner,
      publish: async (topic, message) => {
        if (topic.startsWith('market-data.book.') && dropNextBookMessage) {
          dropNextBookMessage = false;
          dropped += 1;
          return;
        }
        await inner.publish(topic, message);
      },
    };
    const other = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
    const instance = await createMarketDataService({
      config,
      db: other.db,
      port: 0,
      logger: testLogger,
      coreClient: core.core,
      bus: lossy,
    });
    try {
      await instance.projection.whenCaughtUp();
      const client = await connectWs(instance.url, config.internalTokenSecret);
      clients.push(client);
      const stream = client.subscribe<OrderBookEventView>(orderBookSubscription, {
        symbol: 'BTC-USDT',
        depth: 20,
      });
      await stream.nth(0);
      await fund(core.core, 'maker-live-4');
      dropNextBookMessage = true;
      for (let i = 0; i < 4; i++)
        await place(core.core, limit('maker-live-4', 'BUY', 2_500_000 + i * 100, 100));
      // One more batch after the projection caught up: a message after the lost one reveals the gap.
      const afterLoss = await core.core.lastEventSeq();
      await eventually(() => instance.projection.position === afterLoss);
      await place(core.core, limit('maker-live-4', 'BUY', 2_400_000, 100));
      const last = await core.core.lastEventSeq();
      await eventually(() => instance.projection.position === last);
      const market = instance.projection.market('BTC-USDT')!;
      const target = instance.projection.book(market.marketId)!.bookSeq;
      await stream.until((values) => Number(values[values.length - 1]!.sequence) === target);
      expect(dropped).toBe(1);
      expect(stream.values.filter((event) => event.kind === 'SNAPSHOT').length).toBe(2);
      expect(instance.feeds.books.stats().resyncs).toBe(1);
      const replayed = replayBook(stream.values); // throws on any gap between DELTAs
      const queried = await callSubgraph<BookResult>(instance.url, bookQuery, {
        symbol: 'BTC-USDT',
        depth: 20,
      });
      expect(queried.data?.orderBook.sequence).toBe(String(target));
      expect({ bids: replayed.bids, asks: replayed.asks }).toEqual({
        bids: queried.data?.orderBook.bids,
        asks: queried.data?.orderBook.asks,
      });
    } finally {
      await instance.close();
      await other.dispose();
    }
  });

  it('refuses a WebSocket connection without a valid gateway identity (4403)', async () => {
    const forged = await signInternalIdentity(
      { kind: 'anonymous' },
      'not-the-gateway-secret-0123456789abcdef',
      60,
    );
    for (const options of [{ identity: null }, { token: forged }, { token: 'garbage' }]) {
      const client = await connectWs(service.url, config.internalTokenSecret, options);
      clients.push(client);
      const stream = client.subscribe(orderBookSubscription, { symbol: 'BTC-USDT' });
      await eventually(() => stream.errors.length > 0);
      expect(stream.values).toEqual([]);
      expect(client.closeCodes).toEqual([4403]);
    }
  });

  it('answers WebSocket upgrades on other paths with 404', async () => {
    const socket = new WebSocket(
      service.url.replace('/graphql', '/other').replace(/^http/, 'ws'),
      'graphql-transport-ws',
    );
    const status = await new Promise<number>((resolve, reject) => {
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => reject(new Error('upgraded on a wrong path')));
      socket.on('error', () => undefined);
    });
    expect(status).toBe(404);
    socket.terminate();
  });

  it('refuses bad subscription arguments with registry codes', async () => {
    const client = await ws();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [orderBookSubscription, { symbol: 'BTC-USDT', depth: 0 }, 'BAD_USER_INPUT'],
      [orderBookSubscription, { symbol: 'BTC-USDT', depth: 501 }, 'BAD_USER_INPUT'],
      [orderBookSubscription, { symbol: 'NOPE-USDT' }, 'MARKET_NOT_FOUND'],
      ['subscription { trades(symbol: "NOPE-USDT") { id } }', {}, 'MARKET_NOT_FOUND'],
      ['subscription { nope }', {}, 'GRAPHQL_VALIDATION_FAILED'],
    ];
    for (const [query, variables, code] of cases) {
      const stream = client.subscribe(query, variables);
      await eventually(() => stream.errors.length > 0);
      const error = stream.errors[0] as
        { extensions?: { code?: string } } | Array<{ extensions?: { code?: string } }>;
      expect((Array.isArray(error) ? error[0] : error)?.extensions?.code, query).toBe(code);
    }
  });

  it('survives a restart: the same book, trades and sequence from the tables', async () => {
    const market = service.projection.market('BTC-USDT')!;
    const before = await callSubgraph<BookResult>(service.url, bookQuery, { symbol: 'BTC-USDT', depth: 500 });
    const tradesBefore = await callSubgraph(service.url, '{ trades(symbol: "BTC-USDT") { id price } }');
    const position = service.projection.position;
    await service.close();
    service = await start();
    expect(service.projection.position).toBe(position);
    expect(service.projection.book(market.marketId)!.bookSeq).toBe(Number(before.data!.orderBook.sequence));
    expect(await callSubgraph(service.url, bookQuery, { symbol: 'BTC-USDT', depth: 500 })).toEqual(before);
    expect(await callSubgraph(service.url, '{ trades(symbol: "BTC-USDT") { id price } }')).toEqual(
      tradesBefore,
    );
    // And it follows the core again.
    await place(core.core, limit('maker-live-3', 'BUY', 2_000_000, 100));
    await eventually(
      () => service.projection.book(market.marketId)!.bookSeq === Number(before.data!.orderBook.sequence) + 1,
    );
  });
});

const redisUrl = process.env['REDIS_URL'] ?? (process.env['CI'] ? 'redis://127.0.0.1:6379' : undefined);

describe.runIf(redisUrl)('market-data instances fanning out through Redis', () => {
  let core: TestCore;
  let testDb: TestDatabase;
  const instances: MarketDataService[] = [];
  const clients: TestWsClient[] = [];

  beforeAll(async () => {
    core = await startTestCore();
    await tradeScenario(core.core, ['maker-redis-1', 'taker-redis-2']);
    testDb = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
    // Two instances on one database and one core, each with its own Redis connections (own bus).
    for (let i = 0; i < 2; i++)
      instances.push(
        await createMarketDataService({
          config: testConfig({ REDIS_URL: redisUrl! }),
          db: testDb.db,
          port: 0,
          logger: testLogger,
          coreClient: core.core,
        }),
      );
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose().catch(() => undefined);
    for (const instance of instances) await instance.close();
    await testDb?.dispose();
    await core?.dispose();
  });

  it('a subscriber on either instance gets SNAPSHOT then contiguous DELTAs equal to the queried book', async () => {
    const streams = [];
    for (const instance of instances) {
      await instance.projection.whenCaughtUp();
      const client = await connectWs(instance.url, testConfig().internalTokenSecret);
      clients.push(client);
      const stream = client.subscribe<OrderBookEventView>(orderBookSubscription, {
        symbol: 'BTC-USDT',
        depth: 5,
      });
      await stream.nth(0);
      streams.push(stream);
    }
    for (let i = 0; i < 20; i++) {
      await place(
        core.core,
        limit('maker-redis-1', i % 2 ? 'BUY' : 'SELL', i % 2 ? 2_999_500 - i : 3_000_500 + i, 10 + i),
      );
    }
    await place(core.core, limit('taker-redis-2', 'BUY', 3_000_600, 5_000));
    const last = await core.core.lastEventSeq();
    await eventually(() => instances.every((instance) => instance.projection.position === last));
    const market = instances[0]!.projection.market('BTC-USDT')!;
    const target = instances[0]!.projection.book(market.marketId)!.bookSeq;
    for (const [i, stream] of streams.entries()) {
      await stream.until((values) => Number(values[values.length - 1]!.sequence) === target);
      const replayed = replayBook(stream.values);
      const queried = await callSubgraph<BookResult>(instances[i]!.url, bookQuery, {
        symbol: 'BTC-USDT',
        depth: 5,
      });
      expect(queried.data?.orderBook.sequence).toBe(String(target));
      expect({ bids: replayed.bids, asks: replayed.asks }).toEqual({
        bids: queried.data?.orderBook.bids,
        asks: queried.data?.orderBook.asks,
      });
    }
    // Each book event was written (and published) by exactly one instance.
    const rows = await testDb.db.query<{ book_seq: string }>(
      "SELECT book_seq::text AS book_seq FROM markets WHERE symbol = 'BTC-USDT'",
    );
    expect(rows.rows[0]?.book_seq).toBe(String(target));
  });
});
