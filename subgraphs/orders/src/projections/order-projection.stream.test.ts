/**
 * A seeded random trading session through the real core (limit GTC/IOC/FOK, post-only, market
 * orders, cancels, self-trades among three users), projected from its event log. Whatever the
 * stream, the read model must agree with it: every fill sums into its order, statuses match
 * quantities, every trade has exactly one maker and one taker fill, and the orders left open are
 * exactly those the core never finished.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, MarketIds } from '@graphex/matching-core';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import type { CoreCommand, PublicCoreEvent } from '@graphex/schema';
import { ordersMigrationsDir } from '../index.ts';
import { add, compare, formatFixed, parseFixed } from '../domain/decimal.ts';
import { MarketCatalog } from '../domain/market.ts';
import { startTestCore, type TestCore } from '../test-fixtures.ts';
import { applyCoreEvents, maxEventsPerBatch } from './order-projection.ts';

let testCore: TestCore;
let test: TestDatabase;
const users = [randomUUID(), randomUUID(), randomUUID()];
const log: PublicCoreEvent[] = [];

/** mulberry32: a tiny seeded PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  testCore = await startTestCore();
  test = await openTestDatabase('orders', ordersMigrationsDir);
  const { core } = testCore;
  for (const userId of users) {
    await core.submit({ type: 'Deposit', userId, assetId: AssetIds.BTC, amountUnits: 10_000_000_000n });
    await core.submit({ type: 'Deposit', userId, assetId: AssetIds.USDT, amountUnits: 10_000_000_000_000n });
  }
  const random = prng(20261122);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const open: Array<{ userId: string; orderId: number }> = [];
  for (let i = 0; i < 400; i++) {
    const userId = pick(users);
    const side = random() < 0.5 ? 'BUY' : 'SELL';
    const roll = random();
    let command: CoreCommand;
    if (roll < 0.15 && open.length > 0) {
      const target = open.splice(Math.floor(random() * open.length), 1)[0]!;
      command = { type: 'CancelOrder', userId: target.userId, orderId: target.orderId };
    } else if (roll < 0.25) {
      command = {
        type: 'PlaceOrder',
        userId,
        marketId: MarketIds.BTC_USDT,
        side,
        orderType: 'MARKET',
        timeInForce: random() < 0.8 ? 'IOC' : 'FOK',
        priceTicks: null,
        stopPriceTicks: null,
        quantityLots: 1_000 + Math.floor(random() * 20_000),
        quoteBudgetUnits: null,
        postOnly: false,
        selfTradePrevention: pick(['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'] as const),
        clientOrderId: null,
      };
    } else {
      const timeInForce = pick(['GTC', 'GTC', 'GTC', 'IOC', 'FOK'] as const);
      command = {
        type: 'PlaceOrder',
        userId,
        marketId: MarketIds.BTC_USDT,
        side,
        orderType: 'LIMIT',
        timeInForce,
        priceTicks: 2_990_000 + Math.floor(random() * 20_000),
        stopPriceTicks: null,
        quantityLots: 1_000 + Math.floor(random() * 20_000),
        quoteBudgetUnits: null,
        postOnly: timeInForce === 'GTC' && random() < 0.1,
        selfTradePrevention: pick(['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'] as const),
        clientOrderId: null,
      };
    }
    const { result } = await core.submit(command);
    if (
      command.type === 'PlaceOrder' &&
      result.orderId !== null &&
      (result.status === 'OPEN' || result.status === 'PARTIALLY_FILLED')
    )
      open.push({ userId, orderId: result.orderId });
  }
  const subscription = core.subscribe(0, (events) => {
    log.push(...events);
  });
  const last = await core.lastEventSeq();
  for (let i = 0; i < 500 && (log.at(-1)?.eventSeq ?? 0) < last; i++)
    await new Promise((r) => setTimeout(r, 10));
  await subscription.close();
  const catalog = new MarketCatalog();
  for (let start = 0; start < log.length; start += maxEventsPerBatch) {
    await applyCoreEvents(test.db, catalog, log.slice(start, start + maxEventsPerBatch));
  }
}, 120_000);

afterAll(async () => {
  await test?.dispose();
  await testCore?.dispose();
});

describe('order projection of a random trading session', () => {
  it('agrees with the core’s event stream', async () => {
    const orders = await test.db.query<{
      id: string;
      quantity: string | null;
      filled_quantity: string;
      status: string;
    }>('SELECT id, quantity::text, filled_quantity::text, status FROM orders');
    const fills = await test.db.query<{
      trade_id: string;
      order_id: string;
      quantity: string;
      liquidity: string;
    }>('SELECT trade_id, order_id, quantity::text, liquidity FROM fills');
    const trades = log.filter((e) => e.type === 'Trade');
    const accepted = log.filter((e) => e.type === 'OrderAccepted');
    const done = new Set(
      log.filter((e) => e.type === 'OrderDone').map((e) => String((e as { orderId: number }).orderId)),
    );
    expect(trades.length).toBeGreaterThan(50);
    expect(orders.rows).toHaveLength(accepted.length);

    const filledByOrder = new Map<string, ReturnType<typeof parseFixed>>();
    for (const fill of fills.rows)
      filledByOrder.set(
        fill.order_id,
        add(filledByOrder.get(fill.order_id) ?? parseFixed('0'), parseFixed(fill.quantity)),
      );
    for (const order of orders.rows) {
      const filled = parseFixed(order.filled_quantity);
      expect(formatFixed(filledByOrder.get(order.id) ?? parseFixed('0')), order.id).toBe(formatFixed(filled));
      const quantity = parseFixed(order.quantity!);
      const full = compare(filled, quantity) === 0;
      const none = filled.units === 0n;
      if (order.status === 'FILLED') expect(full, order.id).toBe(true);
      if (order.status === 'OPEN') expect(none, order.id).toBe(true);
      if (order.status === 'PARTIALLY_FILLED') expect(!none && !full, order.id).toBe(true);
      // Live exactly when the core never finished it.
      expect(['OPEN', 'PARTIALLY_FILLED'].includes(order.status), order.id).toBe(!done.has(order.id));
    }
    const byTrade = new Map<string, string[]>();
    for (const fill of fills.rows)
      byTrade.set(fill.trade_id, [...(byTrade.get(fill.trade_id) ?? []), fill.liquidity]);
    expect(byTrade.size).toBe(trades.length);
    for (const [tradeId, liquidities] of byTrade)
      expect(liquidities.sort(), tradeId).toEqual(['MAKER', 'TAKER']);
  });
});
