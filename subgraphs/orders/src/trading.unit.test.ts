/**
 * Read-your-writes without the projection: with a read model that never applies anything, a cancel
 * right after a placement is still answered exactly (from the placement the core answered), and a
 * cancel whose order changed in between (a fill by someone else's command) is never answered from
 * stale state — it waits for the projection instead (here: SERVICE_UNAVAILABLE). Placements kept
 * current by the observed event log answer cancels without reading the read model, unless the
 * cache may have missed something (a gap, an amendment); fill notifications carry their order.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, MarketIds, limitOrder } from '@graphex/matching-core';
import { openTestDatabase, testLogger, userIdentity, type TestDatabase } from '@graphex/runtime/testing';
import { apiError, type CoreCommand } from '@graphex/schema';
import { MarketCatalog } from './domain/market.ts';
import { foldOrderEvents } from './domain/order-fold.ts';
import { decodeNotification, encodeNotification } from './subscriptions/user-streams.ts';
import { ordersMigrationsDir } from './index.ts';
import { startTestCore, SyntheticEvents, type TestCore } from './test-fixtures.ts';
import { createTrading, type Trading } from './trading.ts';

let testCore: TestCore;
let test: TestDatabase;
let trading: Trading;
const alice = randomUUID();
const bob = randomUUID();

beforeAll(async () => {
  testCore = await startTestCore();
  test = await openTestDatabase('orders', ordersMigrationsDir);
  const catalog = new MarketCatalog();
  for (const event of new SyntheticEvents().log) catalog.apply(event);
  trading = createTrading({
    core: testCore.core,
    catalog,
    db: test.db,
    logger: testLogger,
    // A projection that never gets anywhere.
    projection: {
      waitFor: (eventSeq) =>
        eventSeq <= 0 ? Promise.resolve() : Promise.reject(apiError('SERVICE_UNAVAILABLE', 'stalled')),
    },
  });
  await testCore.core.submit({
    type: 'Deposit',
    userId: alice,
    assetId: AssetIds.USDT,
    amountUnits: 10n ** 12n,
  });
  await testCore.core.submit({ type: 'Deposit', userId: bob, assetId: AssetIds.BTC, amountUnits: 10n ** 9n });
});

afterAll(async () => {
  await test?.dispose();
  await testCore?.dispose();
});

describe('cancel answers without the projection', () => {
  it('cancels a fresh placement exactly from the core’s answer', async () => {
    const placed = await trading.placeOrder(userIdentity(alice), {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '20000',
      quantity: '0.1',
    });
    expect(placed.status).toBe('OPEN');
    const cancelled = await trading.cancelOrder(userIdentity(alice), placed.id);
    expect(cancelled).toMatchObject({
      id: placed.id,
      status: 'CANCELLED',
      filledQuantity: '0',
      doneReason: 'CANCELLED',
    });
    expect(cancelled.knownFills).toEqual([]);
  });

  it('never answers from stale state: a fill in between makes it wait for the projection', async () => {
    const placed = await trading.placeOrder(userIdentity(alice), {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '30000',
      quantity: '0.1',
    });
    const sell = {
      ...limitOrder(0, MarketIds.BTC_USDT, 'SELL', 3_000_000, 5_000),
      userId: bob,
    } as CoreCommand;
    expect((await testCore.core.submit(sell)).result.code).toBe(0);
    await expect(trading.cancelOrder(userIdentity(alice), placed.id)).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  });
});

describe('cancel answers from recent placements kept current by the observed event log', () => {
  /** A read model that must not be read: counts attempts and fails them. */
  let reads = 0;
  let observed: Trading;

  beforeAll(async () => {
    // Leave nothing of alice's resting from the tests above.
    await testCore.core.submit({ type: 'CancelAll', userId: alice, marketId: null } as CoreCommand);
    const catalog = new MarketCatalog();
    for (const event of new SyntheticEvents().log) catalog.apply(event);
    observed = createTrading({
      core: testCore.core,
      catalog,
      db: {
        query: () => {
          reads += 1;
          return Promise.reject(new Error('the read model was read'));
        },
      },
      logger: testLogger,
      projection: {
        waitFor: () => Promise.reject(apiError('SERVICE_UNAVAILABLE', 'stalled')),
      },
    });
  });

  const buy = (price: string) =>
    observed.placeOrder(userIdentity(alice), {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price,
      quantity: '0.1',
    });
  const sell = async (priceTicks: number, quantityLots: number) => {
    const outcome = await testCore.core.submit({
      ...limitOrder(0, MarketIds.BTC_USDT, 'SELL', priceTicks, quantityLots),
      userId: bob,
    } as CoreCommand);
    expect(outcome.result.code).toBe(0);
    return outcome.events;
  };

  it('folds a fill by someone else’s command into the cached order: the cancel needs no read', async () => {
    reads = 0;
    const placed = await buy('31000');
    const fillEvents = await sell(3_100_000, 4_000);
    observed.observeCoreEvents(fillEvents);
    const cancelled = await observed.cancelOrder(userIdentity(alice), placed.id);
    expect(reads).toBe(0);
    expect(cancelled).toMatchObject({
      id: placed.id,
      status: 'CANCELLED',
      filledQuantity: '0.04',
      quantity: '0.1',
      doneReason: 'CANCELLED',
    });
    expect(cancelled.knownFills).toEqual([
      expect.objectContaining({ orderId: placed.id, price: '31000', quantity: '0.04', liquidity: 'MAKER' }),
    ]);
  });

  it('knows the owner of an order it placed: a cancel after it was filled is ORDER_NOT_OPEN, or NOT_FOUND for others', async () => {
    reads = 0;
    const placed = await buy('33000');
    await sell(3_300_000, 10_000);
    const codeOf = (error: unknown) => (error as { extensions?: { code?: string } }).extensions?.code;
    expect(codeOf(await observed.cancelOrder(userIdentity(alice), placed.id).catch((e: unknown) => e))).toBe(
      'ORDER_NOT_OPEN',
    );
    expect(codeOf(await observed.cancelOrder(userIdentity(bob), placed.id).catch((e: unknown) => e))).toBe(
      'NOT_FOUND',
    );
    expect(reads).toBe(0);
  });

  it('does not trust the cache after an amendment it did not see', async () => {
    const amended = await buy('20000');
    const amend = await testCore.core.submit({
      type: 'AmendOrder',
      userId: alice,
      orderId: Number(amended.id),
      priceTicks: null,
      quantityLots: 6_000,
    } as unknown as CoreCommand);
    expect(amend.result.code).toBe(0);
    reads = 0;
    // Unobserved: the cached quantity (0.1) disagrees with the OrderDone's filled + remaining.
    await expect(observed.cancelOrder(userIdentity(alice), amended.id)).rejects.toThrow();
    expect(reads).toBeGreaterThan(0);
    await testCore.core.submit({ type: 'CancelAll', userId: alice, marketId: null } as CoreCommand);
  });

  it('does not trust the cache after a gap in the observed events', async () => {
    const afterGap = await buy('31000');
    const events = await sell(3_100_000, 1_000);
    // Delivered with a hole before them: what happened in the hole is unknown.
    observed.observeCoreEvents(events.map((event) => ({ ...event, eventSeq: event.eventSeq + 100 })));
    reads = 0;
    await expect(observed.cancelOrder(userIdentity(alice), afterGap.id)).rejects.toThrow();
    expect(reads).toBeGreaterThan(0);
  });
});

describe('fill notifications', () => {
  it('carry the order as the filling command left it, through the bus codec', async () => {
    await testCore.core.submit({ type: 'CancelAll', userId: alice, marketId: null } as CoreCommand);
    const submit = async (command: Record<string, unknown>) => {
      const outcome = await testCore.core.submit(command as unknown as CoreCommand);
      expect(outcome.result.code).toBe(0);
      return outcome;
    };
    const bid = await submit({
      ...limitOrder(0, MarketIds.BTC_USDT, 'BUY', 3_200_000, 10_000),
      userId: alice,
    });
    const ask = await submit({ ...limitOrder(0, MarketIds.BTC_USDT, 'SELL', 3_200_000, 4_000), userId: bob });
    const cancel = await submit({ type: 'CancelOrder', userId: alice, orderId: bid.result.orderId });
    const catalog = new MarketCatalog();
    for (const event of new SyntheticEvents().log) catalog.apply(event);
    const folded = foldOrderEvents({
      catalog,
      orders: new Map(),
      events: [...bid.events, ...ask.events, ...cancel.events],
    });
    const fills = folded.notifications
      .filter((n) => n.kind === 'fill')
      .map((n) => decodeNotification(encodeNotification(n)));
    // The maker was PARTIALLY_FILLED by the ask's command — not yet CANCELLED, as it is at the end.
    expect(fills.map((n) => n.kind === 'fill' && [n.userId, n.fill.knownOrder?.status])).toEqual([
      [alice, 'PARTIALLY_FILLED'],
      [bob, 'FILLED'],
    ]);
    const maker = fills[0]!.kind === 'fill' ? fills[0]!.fill.knownOrder! : null;
    expect(maker).toMatchObject({ id: String(bid.result.orderId), filledQuantity: '0.04', quantity: '0.1' });
    expect(maker!.createdAt).toBeInstanceOf(Date);
  });
});
