/**
 * The order projection over the real core's event log: exact fills for both sides, idempotent by
 * eventSeq (redelivery, overlapping batches), atomic per batch, and rebuilt from 0 into empty
 * tables it equals the live read model.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, MarketIds, limitOrder } from '@graphex/matching-core';
import type { Queryable } from '@graphex/runtime';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import type { CoreCommand, PublicCoreEvent } from '@graphex/schema';
import { ordersMigrationsDir } from '../index.ts';
import { MarketCatalog } from '../domain/market.ts';
import { fillsByOrderIds, ordersByIds } from '../store/orders.ts';
import { startTestCore, SyntheticEvents, type TestCore } from '../test-fixtures.ts';
import {
  applyCoreEvents,
  loadCatalog,
  projectionPosition,
  ProjectionInvariantError,
  WrittenOrders,
  type ProjectionBatchResult,
} from './order-projection.ts';

let testCore: TestCore;
let live: TestDatabase;
let rebuilt: TestDatabase;
let log: PublicCoreEvent[] = [];
const maker = randomUUID();
const taker = randomUUID();

const place = (userId: string, side: 'BUY' | 'SELL', priceTicks: number, quantityLots: number, extra = {}) =>
  ({ ...limitOrder(0, MarketIds.BTC_USDT, side, priceTicks, quantityLots, extra), userId }) as CoreCommand;

async function readAll(db: Queryable) {
  const orders = await db.query(
    `SELECT id, user_id, client_order_id, market_id, symbol, side, type, time_in_force, post_only, self_trade_prevention,
       price::text, stop_price::text, quantity::text, quote_quantity::text, filled_quantity::text, filled_notional::text,
       status, done_reason, created_at, updated_at, last_sequence::text FROM orders ORDER BY id::bigint`,
  );
  const fills = await db.query(
    `SELECT trade_id, order_id, price::text, quantity::text, fee::text, fee_currency, liquidity, created_at, sequence::text
     FROM fills ORDER BY order_id::bigint, trade_id::bigint`,
  );
  const markets = await db.query('SELECT * FROM core_markets ORDER BY market_id');
  return {
    orders: orders.rows,
    fills: fills.rows,
    markets: markets.rows,
    position: await projectionPosition(db),
  };
}

beforeAll(async () => {
  testCore = await startTestCore();
  live = await openTestDatabase('orders', ordersMigrationsDir);
  const { core } = testCore;
  const commands: CoreCommand[] = [
    { type: 'Deposit', userId: maker, assetId: AssetIds.BTC, amountUnits: 100_000_000n },
    { type: 'Deposit', userId: taker, assetId: AssetIds.USDT, amountUnits: 100_000_000_000n },
    place(maker, 'SELL', 3_000_000, 30_000), // 0.3 BTC @ 30000
    place(maker, 'SELL', 3_000_100, 20_000), // 0.2 BTC @ 30001
    place(taker, 'BUY', 3_000_100, 40_000), // takes 0.3 @ 30000 and 0.1 @ 30001
    { type: 'HaltMarket', marketId: MarketIds.ETH_USDT },
  ];
  for (const command of commands) expect((await core.submit(command)).result.code).toBe(0);
  log = [];
  const subscription = core.subscribe(0, (events) => {
    log.push(...events);
  });
  const last = await core.lastEventSeq();
  for (let i = 0; i < 200 && (log.at(-1)?.eventSeq ?? 0) < last; i++)
    await new Promise((r) => setTimeout(r, 10));
  await subscription.close();
  expect(log.at(-1)?.eventSeq).toBe(last);
});

afterAll(async () => {
  await live?.dispose();
  await rebuilt?.dispose();
  await testCore?.dispose();
});

describe('order projection over real core events', () => {
  it('records both sides of every trade with exact fees, in one batch, idempotently', async () => {
    const catalog = new MarketCatalog();
    const first = await applyCoreEvents(live.db, catalog, log);
    expect(first.applied).toBe(log.length);
    expect(catalog.marketBySymbol('ETH-USDT')?.halted).toBe(true);
    const state = await readAll(live.db);
    // Redelivery of everything, and an overlapping batch, change nothing.
    expect(await applyCoreEvents(live.db, catalog, log)).toMatchObject({ applied: 0, skipped: log.length });
    expect(await applyCoreEvents(live.db, catalog, log.slice(-3))).toMatchObject({ applied: 0 });
    expect(await readAll(live.db)).toEqual(state);

    const byUser = (userId: string) =>
      state.orders.filter((o) => (o as { user_id: string }).user_id === userId);
    expect(
      byUser(maker).map((o) => [
        (o as { status: string }).status,
        (o as { filled_quantity: string }).filled_quantity,
      ]),
    ).toEqual([
      ['FILLED', '0.3'],
      ['PARTIALLY_FILLED', '0.1'],
    ]);
    const [takerOrder] = byUser(taker) as Array<{ id: string }>;
    const [order] = await ordersByIds(live.db, [takerOrder!.id]);
    expect(order).toMatchObject({
      status: 'FILLED',
      filledQuantity: '0.4',
      filledNotional: '12000.1',
      doneReason: 'FILLED',
    });
    const fills = await fillsByOrderIds(live.db, [takerOrder!.id]);
    // Taker buys BTC: 0.2 % fee in BTC on each fill.
    expect(fills.map((f) => [f.price, f.quantity, f.fee, f.feeCurrency, f.liquidity])).toEqual([
      ['30000', '0.3', '0.0006', 'BTC', 'TAKER'],
      ['30001', '0.1', '0.0002', 'BTC', 'TAKER'],
    ]);
    const makerFills = await fillsByOrderIds(
      live.db,
      byUser(maker).map((o) => (o as { id: string }).id),
    );
    // Maker sells: 0.1 % fee in USDT (9000 × 0.001 = 9; 3000.1 × 0.001 = 3.0001).
    expect(makerFills.map((f) => [f.price, f.quantity, f.fee, f.feeCurrency, f.liquidity])).toEqual([
      ['30000', '0.3', '9', 'USDT', 'MAKER'],
      ['30001', '0.1', '3.0001', 'USDT', 'MAKER'],
    ]);
  });

  it('rebuilds from 0 into empty tables exactly as live, in any batch sizes, with the same catalog', async () => {
    rebuilt = await openTestDatabase('orders_rebuild', ordersMigrationsDir);
    const catalog = new MarketCatalog();
    for (let start = 0, size = 1; start < log.length; start += size, size = (size % 4) + 1) {
      await applyCoreEvents(rebuilt.db, catalog, log.slice(start, start + size));
    }
    expect(await readAll(rebuilt.db)).toEqual(await readAll(live.db));
    const reloaded = await loadCatalog(rebuilt.db);
    expect(reloaded.markets()).toEqual(catalog.markets());
  });

  it('applies nothing of a batch that breaks an invariant, and refuses gaps', async () => {
    const db = (await openTestDatabase('orders_bad', ordersMigrationsDir)).db;
    const events = new SyntheticEvents();
    const catalog = new MarketCatalog();
    await applyCoreEvents(db, catalog, events.log);
    const position = await projectionPosition(db);
    const accepted = events.accepted({ userId: 'u-1' });
    const doneUnknown = events.cancelled(999, 'u-1');
    await expect(applyCoreEvents(db, catalog, [accepted, doneUnknown])).rejects.toThrow(
      ProjectionInvariantError,
    );
    expect(await projectionPosition(db)).toBe(position);
    expect(await ordersByIds(db, [String((accepted as { orderId: number }).orderId)])).toEqual([]);
    // A batch that starts past the stored position would skip events.
    const later = events.accepted({ userId: 'u-1' });
    await expect(applyCoreEvents(db, catalog, [later])).rejects.toThrow(/Gap/);
    await db.close();
  });

  it('reads back no rows it wrote itself, and still equals one-by-one application — also with another instance in between', async () => {
    const { core } = testCore;
    // Churn: resting sells, crossing buys (partial fills), cancels of both.
    for (let i = 0; i < 40; i += 1) {
      const sell = await core.submit(place(maker, 'SELL', 3_000_000 + (i % 5) * 100, 1_000 + i));
      const buy = await core.submit(place(taker, 'BUY', 3_000_000 + ((i * 3) % 7) * 100, 1_500));
      if (i % 3 === 0 && sell.result.orderId !== null)
        await core.submit({ type: 'CancelOrder', userId: maker, orderId: sell.result.orderId });
      if (i % 4 === 1 && buy.result.orderId !== null)
        await core.submit({ type: 'CancelOrder', userId: taker, orderId: buy.result.orderId });
    }
    const all: PublicCoreEvent[] = [];
    const subscription = core.subscribe(0, (events) => void all.push(...events));
    const last = await core.lastEventSeq();
    for (let i = 0; i < 300 && (all.at(-1)?.eventSeq ?? 0) < last; i++)
      await new Promise((r) => setTimeout(r, 10));
    await subscription.close();

    const single = await openTestDatabase('orders_single', ordersMigrationsDir);
    const cached = await openTestDatabase('orders_cached', ordersMigrationsDir);
    const notificationsOf = (results: ProjectionBatchResult[]) => results.flatMap((r) => r.notifications);
    try {
      const singleCatalog = new MarketCatalog();
      for (const event of all) await applyCoreEvents(single.db, singleCatalog, [event]);
      // What subscribers hear depends on the batch boundaries (a change per command within a
      // batch): the reference for notifications reads every row back, in the same batches.
      const plain = await openTestDatabase('orders_plain', ordersMigrationsDir);
      const reference: ProjectionBatchResult[] = [];
      const plainCatalog = new MarketCatalog();
      for (let start = 0, size = 1; start < all.length; start += size, size = (size % 7) + 1)
        reference.push(await applyCoreEvents(plain.db, plainCatalog, all.slice(start, start + size)));
      await plain.dispose();

      // Two instances on one database: each gets every batch, in order; the position lock decides.
      const written = new WrittenOrders();
      const other = new WrittenOrders();
      const [mine, theirs] = [new MarketCatalog(), new MarketCatalog()];
      const applied: ProjectionBatchResult[] = [];
      let reads = 0;
      const counting = {
        ...cached.db,
        transaction: <T>(work: (tx: Queryable) => Promise<T>) =>
          cached.db.transaction((tx) =>
            work({
              query: (sql, params) => {
                if (sql.startsWith('SELECT id, user_id')) reads += 1;
                return tx.query(sql, params);
              },
            }),
          ),
      };
      for (let start = 0, size = 1, turn = 0; start < all.length; start += size, size = (size % 7) + 1) {
        const batch = all.slice(start, start + size);
        turn += 1;
        // Every fifth batch the other instance gets there first.
        const first = turn % 5 === 0 ? [theirs, other] : [mine, written];
        const second = turn % 5 === 0 ? [mine, written] : [theirs, other];
        applied.push(
          await applyCoreEvents(counting, first[0] as MarketCatalog, batch, first[1] as WrittenOrders),
        );
        expect(
          await applyCoreEvents(counting, second[0] as MarketCatalog, batch, second[1] as WrittenOrders),
        ).toMatchObject({ applied: 0 });
      }
      expect(await readAll(cached.db)).toEqual(await readAll(single.db));
      expect(notificationsOf(applied)).toEqual(notificationsOf(reference));
      // Most batches found their rows in memory (only the first after the other instance read them).
      expect(reads).toBeLessThan(applied.length / 2);
    } finally {
      await single.dispose();
      await cached.dispose();
    }
  });
});
