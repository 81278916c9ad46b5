/**
 * Read-your-writes without the projection: with a read model that never applies anything, a cancel
 * right after a placement is still answered exactly (from the placement the core answered), and a
 * cancel whose order changed in between (a fill by someone else's command) is never answered from
 * stale state — it waits for the projection instead (here: SERVICE_UNAVAILABLE).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, MarketIds, limitOrder } from '@graphex/matching-core';
import { openTestDatabase, testLogger, userIdentity, type TestDatabase } from '@graphex/runtime/testing';
import { apiError, type CoreCommand } from '@graphex/schema';
import { MarketCatalog } from './domain/market.ts';
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
