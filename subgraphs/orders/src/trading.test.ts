/**
 * placeOrder / cancelOrder / cancelAllOrders over HTTP, called the way the gateway calls them,
 * against the real matching core (worker thread, journal in a temp dir) with real events. Runs on
 * PGlite by default and on PostgreSQL when DATABASE_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, MarketIds } from '@graphex/matching-core';
import type { Identity } from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import { createOrdersService, ordersMigrationsDir, type OrdersService } from './index.ts';
import { startTestCore, type TestCore } from './test-fixtures.ts';

const config = testConfig();
let testCore: TestCore;
let test: TestDatabase;
let service: OrdersService;

const aliceId = randomUUID();
const bobId = randomUUID();
const alice = userIdentity(aliceId);
const bob = userIdentity(bobId);

const orderFields = `id clientOrderId side type timeInForce postOnly selfTradePrevention price stopPrice quantity
  quoteQuantity filledQuantity remainingQuantity averageFillPrice status doneReason createdAt updatedAt
  market { symbol } user { id }
  fills { tradeId price quantity fee feeCurrency liquidity order { id } }`;

interface OrderView {
  id: string;
  clientOrderId: string | null;
  side: string;
  type: string;
  timeInForce: string;
  price: string | null;
  quantity: string;
  quoteQuantity: string | null;
  filledQuantity: string;
  remainingQuantity: string;
  averageFillPrice: string | null;
  status: string;
  doneReason: string | null;
  market: { symbol: string };
  user: { id: string };
  fills: Array<{
    tradeId: string;
    price: string;
    quantity: string;
    fee: string;
    feeCurrency: string;
    liquidity: string;
    order: { id: string };
  }>;
}

async function place(identity: Identity, input: Record<string, unknown>) {
  return callSubgraph<{ placeOrder: OrderView }>(
    service.url,
    `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { ${orderFields} } }`,
    { input },
    identity,
    config,
  );
}

async function placed(identity: Identity, input: Record<string, unknown>): Promise<OrderView> {
  const response = await place(identity, input);
  expect(response.errors, JSON.stringify(input)).toBeUndefined();
  return response.data!.placeOrder;
}

async function cancel(identity: Identity, id: string) {
  return callSubgraph<{ cancelOrder: OrderView }>(
    service.url,
    `mutation ($id: ID!) { cancelOrder(id: $id) { ${orderFields} } }`,
    { id },
    identity,
    config,
  );
}

async function order(identity: Identity, id: string): Promise<OrderView | null> {
  await service.projection.waitFor(await testCore.core.lastEventSeq());
  const response = await callSubgraph<{ order: OrderView | null }>(
    service.url,
    `query ($id: ID!) { order(id: $id) { ${orderFields} } }`,
    { id },
    identity,
    config,
  );
  expect(response.errors).toBeUndefined();
  return response.data!.order;
}

async function orderCount(userId: string): Promise<number> {
  await service.projection.waitFor(await testCore.core.lastEventSeq());
  const result = await test.db.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM orders WHERE user_id = $1',
    [userId],
  );
  return Number(result.rows[0]!.n);
}

const codeOf = (response: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) =>
  response.errors?.[0]?.extensions?.['code'];

beforeAll(async () => {
  testCore = await startTestCore();
  test = await openTestDatabase('orders', ordersMigrationsDir);
  service = await createOrdersService({
    config,
    db: test.db,
    core: testCore.core,
    port: 0,
    logger: testLogger,
  });
  const deposits = [
    { userId: aliceId, assetId: AssetIds.USDT, amountUnits: 1_000_000_000_000n }, // 1,000,000 USDT
    { userId: bobId, assetId: AssetIds.BTC, amountUnits: 1_000_000_000n }, // 10 BTC
    { userId: bobId, assetId: AssetIds.USDT, amountUnits: 1_000_000_000n }, // 1,000 USDT
  ];
  for (const deposit of deposits) {
    const { result } = await testCore.core.submit({ type: 'Deposit', ...deposit });
    expect(result.code).toBe(0);
  }
});

afterAll(async () => {
  await service?.close();
  await test?.dispose();
  await testCore?.dispose();
});

describe('service', () => {
  it('is ready once the projection caught up with the core, and knows the core’s markets', async () => {
    for (let i = 0; i < 50 && !service.projection.caughtUp(); i++)
      await new Promise((r) => setTimeout(r, 20));
    const health = await fetch(service.url.replace('/graphql', '/health'));
    expect(health.status).toBe(200);
    expect(service.catalog.markets().map((market) => market.symbol)).toEqual([
      'BTC-USDT',
      'ETH-USDT',
      'ETH-BTC',
    ]);
  });
});

describe('placeOrder', () => {
  it('crosses two users: the taker is FILLED with its fill, the maker PARTIALLY_FILLED, fees exact', async () => {
    const maker = await placed(bob, {
      symbol: 'BTC-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '30000',
      quantity: '0.5',
    });
    expect(maker).toMatchObject({
      status: 'OPEN',
      price: '30000',
      quantity: '0.5',
      filledQuantity: '0',
      remainingQuantity: '0.5',
      averageFillPrice: null,
      timeInForce: 'GTC',
      selfTradePrevention: 'EXPIRE_TAKER',
      market: { symbol: 'BTC-USDT' },
      user: { id: bobId },
      fills: [],
    });
    const taker = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '30100',
      quantity: '0.2',
    });
    expect(taker).toMatchObject({
      status: 'FILLED',
      doneReason: 'FILLED',
      filledQuantity: '0.2',
      remainingQuantity: '0',
      averageFillPrice: '30000',
      user: { id: aliceId },
    });
    // The buyer receives BTC and pays its 0.2 % taker fee in BTC.
    expect(taker.fills).toEqual([
      {
        tradeId: expect.any(String),
        price: '30000',
        quantity: '0.2',
        fee: '0.0004',
        feeCurrency: 'BTC',
        liquidity: 'TAKER',
        order: { id: taker.id },
      },
    ]);
    const makerNow = await order(bob, maker.id);
    expect(makerNow).toMatchObject({
      status: 'PARTIALLY_FILLED',
      filledQuantity: '0.2',
      remainingQuantity: '0.3',
    });
    // The seller receives 6000 USDT and pays the 0.1 % maker fee in USDT.
    expect(makerNow!.fills).toEqual([
      {
        tradeId: taker.fills[0]!.tradeId,
        price: '30000',
        quantity: '0.2',
        fee: '6',
        feeCurrency: 'USDT',
        liquidity: 'MAKER',
        order: { id: maker.id },
      },
    ]);

    // Cancel the rest: CANCELLED, with the fill it had.
    const cancelled = await cancel(bob, maker.id);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelOrder).toMatchObject({
      id: maker.id,
      status: 'CANCELLED',
      doneReason: 'CANCELLED',
      filledQuantity: '0.2',
      remainingQuantity: '0.3',
      averageFillPrice: '30000',
    });
    expect(cancelled.data!.cancelOrder.fills).toHaveLength(1);
    expect(codeOf(await cancel(bob, maker.id))).toBe('ORDER_NOT_OPEN');
    // Someone else's order, open or not, does not exist for the caller.
    expect(codeOf(await cancel(alice, maker.id))).toBe('NOT_FOUND');
    const open = await placed(bob, {
      symbol: 'BTC-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '50000',
      quantity: '0.01',
    });
    expect(codeOf(await cancel(alice, open.id))).toBe('NOT_FOUND');
    expect(codeOf(await cancel(alice, '999999999'))).toBe('NOT_FOUND');
    expect(codeOf(await cancel(alice, 'not-an-id'))).toBe('NOT_FOUND');
    expect((await cancel(bob, open.id)).data!.cancelOrder.status).toBe('CANCELLED');
  });

  it('expires an IOC remainder and an unfillable FOK as orders, not errors', async () => {
    const maker = await placed(bob, {
      symbol: 'BTC-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '31000',
      quantity: '0.1',
    });
    const ioc = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '31000',
      quantity: '0.3',
      timeInForce: 'IOC',
    });
    expect(ioc).toMatchObject({
      status: 'EXPIRED',
      doneReason: 'IOC_REMAINDER',
      filledQuantity: '0.1',
      remainingQuantity: '0.2',
    });
    expect(ioc.fills).toHaveLength(1);
    expect((await order(bob, maker.id))!.status).toBe('FILLED');
    const fok = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '40000',
      quantity: '1',
      timeInForce: 'FOK',
    });
    expect(fok).toMatchObject({
      status: 'EXPIRED',
      doneReason: 'FOK_UNFILLED',
      filledQuantity: '0',
      fills: [],
    });
  });

  it('expires the taker on self-trade (EXPIRE_TAKER) and leaves the resting order alone', async () => {
    const resting = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '20000',
      quantity: '0.1',
    });
    const taker = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '20000',
      quantity: '0.01',
    });
    expect(taker).toMatchObject({
      status: 'EXPIRED',
      doneReason: 'SELF_TRADE',
      filledQuantity: '0',
      fills: [],
    });
    expect((await order(alice, resting.id))!.status).toBe('OPEN');
    expect((await cancel(alice, resting.id)).data!.cancelOrder.status).toBe('CANCELLED');
  });
});

describe('refusals change nothing', () => {
  it('refuses invalid input before the core: nothing is sequenced', async () => {
    const before = await testCore.core.lastEventSeq();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ symbol: 'DOGE-USDT', side: 'BUY', type: 'LIMIT', price: '1', quantity: '1' }, 'MARKET_NOT_FOUND'],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '30000.001', quantity: '0.1' },
        'INVALID_TICK_SIZE',
      ],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '30000', quantity: '0.100001' },
        'INVALID_LOT_SIZE',
      ],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '0.01', quantity: '0.00001' },
        'MIN_NOTIONAL',
      ],
      [{ symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '-1', quantity: '0.1' }, 'BAD_USER_INPUT'],
      [{ symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '0', quantity: '0.1' }, 'BAD_USER_INPUT'],
      [{ symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '1e4', quantity: '0.1' }, 'BAD_USER_INPUT'],
      [{ symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', quantity: '0.1' }, 'BAD_USER_INPUT'],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'MARKET', quantity: '0.1', quoteQuantity: '10' },
        'BAD_USER_INPUT',
      ],
    ];
    for (const [input, code] of cases)
      expect(codeOf(await place(alice, input)), JSON.stringify(input)).toBe(code);
    const float = await callSubgraph(
      service.url,
      'mutation { placeOrder(input: { symbol: "BTC-USDT", side: BUY, type: LIMIT, price: 1.5, quantity: "1" }) { id } }',
      {},
      alice,
      config,
    );
    expect(codeOf(float)).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    expect(await testCore.core.lastEventSeq()).toBe(before);
  });

  it('is UNAUTHENTICATED for anonymous callers', async () => {
    const response = await place(
      { kind: 'anonymous' },
      { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '1', quantity: '1' },
    );
    expect(codeOf(response)).toBe('UNAUTHENTICATED');
    expect(codeOf(await cancel({ kind: 'anonymous' }, '1'))).toBe('UNAUTHENTICATED');
  });

  it('maps core refusals (insufficient funds, post-only, halted market) to errors; no order exists afterwards', async () => {
    const count = await orderCount(aliceId);
    expect(
      codeOf(
        await place(alice, {
          symbol: 'BTC-USDT',
          side: 'BUY',
          type: 'LIMIT',
          price: '30000',
          quantity: '100',
        }),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    const ask = await placed(bob, {
      symbol: 'BTC-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '32000',
      quantity: '0.1',
    });
    expect(
      codeOf(
        await place(alice, {
          symbol: 'BTC-USDT',
          side: 'BUY',
          type: 'LIMIT',
          price: '32000',
          quantity: '0.1',
          postOnly: true,
        }),
      ),
    ).toBe('POST_ONLY_WOULD_TRADE');
    const maker = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '31999.99',
      quantity: '0.1',
      postOnly: true,
    });
    expect(maker.status).toBe('OPEN');
    expect((await cancel(alice, maker.id)).data!.cancelOrder.status).toBe('CANCELLED');
    expect((await cancel(bob, ask.id)).data!.cancelOrder.status).toBe('CANCELLED');

    expect(
      (await testCore.core.submit({ type: 'HaltMarket', marketId: MarketIds.ETH_USDT })).result.code,
    ).toBe(0);
    expect(
      codeOf(
        await place(alice, {
          symbol: 'ETH-USDT',
          side: 'BUY',
          type: 'LIMIT',
          price: '2000',
          quantity: '0.1',
        }),
      ),
    ).toBe('MARKET_HALTED');
    expect(
      (await testCore.core.submit({ type: 'ResumeMarket', marketId: MarketIds.ETH_USDT })).result.code,
    ).toBe(0);
    expect(await orderCount(aliceId)).toBe(count + 1);
  });
});

describe('clientOrderId idempotency', () => {
  it('returns the original order for an identical request and refuses a different one', async () => {
    const input = {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '10000',
      quantity: '0.01',
      clientOrderId: 'bot-7:1',
    };
    const first = await placed(alice, input);
    expect(first).toMatchObject({ clientOrderId: 'bot-7:1', status: 'OPEN' });
    const again = await placed(alice, input);
    expect(again.id).toBe(first.id);
    expect(again).toMatchObject({ status: 'OPEN', clientOrderId: 'bot-7:1', price: '10000' });
    expect(codeOf(await place(alice, { ...input, price: '10000.01' }))).toBe('DUPLICATE_CLIENT_ORDER_ID');
    // Another user may use the same id.
    const bobs = await placed(bob, { ...input, side: 'SELL', price: '90000' });
    expect(bobs.id).not.toBe(first.id);
    // After a cancel, the replay shows the order as it is now.
    await cancel(alice, first.id);
    expect((await placed(alice, input)).status).toBe('CANCELLED');
    await cancel(bob, bobs.id);
  });
});

describe('other order types', () => {
  it('buys at market by quote budget: quantity is what it bought, quoteQuantity the budget', async () => {
    const ask = await placed(bob, {
      symbol: 'BTC-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '30000',
      quantity: '0.1',
    });
    const buy = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'MARKET',
      quoteQuantity: '1500',
    });
    expect(buy).toMatchObject({
      type: 'MARKET',
      timeInForce: 'IOC',
      price: null,
      quoteQuantity: '1500',
      quantity: '0.05',
      filledQuantity: '0.05',
      remainingQuantity: '0',
      averageFillPrice: '30000',
      status: 'FILLED',
    });
    expect(buy.fills.map((fill) => [fill.quantity, fill.fee, fill.feeCurrency])).toEqual([
      ['0.05', '0.0001', 'BTC'],
    ]);
    expect((await cancel(bob, ask.id)).data!.cancelOrder).toMatchObject({
      status: 'CANCELLED',
      filledQuantity: '0.05',
    });
  });

  it('triggers a stop-limit order when the last trade reaches its stop, then fills it', async () => {
    const stop = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'STOP_LIMIT',
      stopPrice: '33000',
      price: '33100',
      quantity: '0.01',
    });
    expect(stop.status).toBe('PENDING_TRIGGER');
    await placed(bob, { symbol: 'BTC-USDT', side: 'SELL', type: 'LIMIT', price: '33000', quantity: '0.02' });
    // A trade at 33000 sets the last price: the stop triggers and takes the rest of the ask.
    const trigger = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '33000',
      quantity: '0.01',
    });
    expect(trigger.status).toBe('FILLED');
    expect(await order(alice, stop.id)).toMatchObject({
      type: 'STOP_LIMIT',
      status: 'FILLED',
      filledQuantity: '0.01',
      averageFillPrice: '33000',
      fills: [expect.objectContaining({ price: '33000', quantity: '0.01', liquidity: 'TAKER' })],
    });
  });

  it('keeps stop orders PENDING_TRIGGER; cancelAllOrders cancels them and every other open order', async () => {
    const stop = await placed(alice, {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'STOP_LIMIT',
      stopPrice: '35000',
      price: '35100',
      quantity: '0.01',
    });
    expect(stop).toMatchObject({ status: 'PENDING_TRIGGER', stopPrice: '35000', price: '35100' });
    const eth = await placed(alice, {
      symbol: 'ETH-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '1000',
      quantity: '0.5',
    });
    const btcOnly = await callSubgraph<{ cancelAllOrders: OrderView[] }>(
      service.url,
      `mutation { cancelAllOrders(symbol: "BTC-USDT") { ${orderFields} } }`,
      {},
      alice,
      config,
    );
    expect(btcOnly.errors).toBeUndefined();
    expect(btcOnly.data!.cancelAllOrders.map((o) => [o.id, o.status, o.type])).toEqual([
      [stop.id, 'CANCELLED', 'STOP_LIMIT'],
    ]);
    const all = await callSubgraph<{ cancelAllOrders: OrderView[] }>(
      service.url,
      `mutation { cancelAllOrders { id status } }`,
      {},
      alice,
      config,
    );
    expect(all.data!.cancelAllOrders).toEqual([{ id: eth.id, status: 'CANCELLED' }]);
    const none = await callSubgraph<{ cancelAllOrders: OrderView[] }>(
      service.url,
      `mutation { cancelAllOrders { id } }`,
      {},
      alice,
      config,
    );
    expect(none.data!.cancelAllOrders).toEqual([]);
    const unknown = await callSubgraph(
      service.url,
      `mutation { cancelAllOrders(symbol: "NOPE-USDT") { id } }`,
      {},
      alice,
      config,
    );
    expect(codeOf(unknown)).toBe('MARKET_NOT_FOUND');
  });
});
