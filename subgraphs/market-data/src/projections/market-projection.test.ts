/**
 * The projection against the real in-process core (events produced by commands, never by hand):
 * exact books, trades and candles; memory equals the tables; idempotent re-application; a replay
 * from 0 into a fresh database in other batch sizes gives identical tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@graphex/runtime';
import { openTestDatabase, testLogger, type TestDatabase } from '@graphex/runtime/testing';
import { referenceAssets, referenceMarkets, type PublicCoreEvent } from '@graphex/schema';
import { bucketStartMs, candleIntervals } from '../domain/candles.ts';
import { levelViews } from '../domain/views.ts';
import { marketDataMigrationsDir, marketDataSchemaName } from '../index.ts';
import { MarketDataReader } from '../store/market-data-reader.ts';
import { seedReferenceData } from '../store/reference-data.ts';
import {
  MarketIds,
  allEvents,
  eventually,
  limit,
  place,
  startTestCore,
  tradeScenario,
  type TestCore,
} from '../test-fixtures.ts';
import { MarketProjection } from './market-projection.ts';

/** Every projected row, as text, in a fixed order. */
async function dump(db: Database): Promise<Record<string, unknown[]>> {
  const tables: Record<string, string> = {
    position: 'SELECT event_seq::text FROM projection_position',
    assets: 'SELECT symbol, asset_id, decimals FROM assets ORDER BY symbol',
    markets: `SELECT symbol, market_id, tick_size::text, lot_size::text, min_notional::text, maker_fee_rate::text,
      taker_fee_rate::text, tick_size_quote_units::text, lot_size_base_units::text, book_seq::text,
      last_price_ticks::text, status FROM markets ORDER BY symbol`,
    levels: `SELECT market_id, side, price_ticks::text, quantity_lots::text, order_count FROM book_levels
      ORDER BY market_id, side, price_ticks`,
    trades: `SELECT trade_id::text, market_id, event_seq::text, price_ticks::text, quantity_lots::text,
      base_units::text, quote_units::text, taker_side, time_ms::text FROM trades ORDER BY trade_id`,
    candles: `SELECT market_id, interval, open_time_ms::text, open_ticks::text, high_ticks::text, low_ticks::text,
      close_ticks::text, volume_base_units::text, quote_volume_units::text, trade_count FROM candles
      ORDER BY market_id, interval, open_time_ms`,
  };
  const result: Record<string, unknown[]> = {};
  for (const [name, sql] of Object.entries(tables)) result[name] = (await db.query(sql)).rows;
  return result;
}

async function freshProjection(): Promise<{ test: TestDatabase; projection: MarketProjection }> {
  const test = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
  await seedReferenceData(test.db, referenceAssets, referenceMarkets);
  return { test, projection: await MarketProjection.open({ db: test.db, logger: testLogger }) };
}

async function applyInBatches(
  projection: MarketProjection,
  events: readonly PublicCoreEvent[],
  size: number,
) {
  for (let i = 0; i < events.length; i += size) await projection.apply(events.slice(i, i + size));
}

describe('market projection', () => {
  let core: TestCore;
  let events: PublicCoreEvent[];
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    core = await startTestCore();
    await tradeScenario(core.core, ['maker-0001', 'taker-0002']);
    events = await allEvents(core.core);
  });

  afterAll(async () => {
    for (const test of databases) await test.dispose();
    await core?.dispose();
  });

  it('projects books, trades and candles exactly', async () => {
    const { test, projection } = await freshProjection();
    databases.push(test);
    await projection.apply(events);
    expect(projection.position).toBe(events[events.length - 1]!.eventSeq);

    const market = projection.market('BTC-USDT')!;
    expect(market.marketId).toBe(MarketIds.BTC_USDT);
    const book = projection.book(market.marketId)!.snapshot(10);
    expect(levelViews(market.scale, book.asks)).toEqual([
      { price: '30001', quantity: '0.0005' },
      { price: '30002', quantity: '0.001' },
      { price: '30003', quantity: '0.001' },
      { price: '30004', quantity: '0.001' },
    ]);
    expect(levelViews(market.scale, book.bids)).toEqual([
      { price: '29989', quantity: '0.0008' },
      { price: '29988', quantity: '0.001' },
      { price: '29987', quantity: '0.001' },
      { price: '29986', quantity: '0.001' },
    ]);
    const bookEvents = events.filter((e) => e.type === 'BookLevelChanged' && e.marketId === market.marketId);
    expect(book.bookSeq).toBe(bookEvents.length);

    const reader = new MarketDataReader(test.db, projection);
    const trades = await reader.trades('BTC-USDT', 10);
    expect(trades.map(({ price, quantity, takerSide }) => ({ price, quantity, takerSide }))).toEqual([
      { price: '29989', quantity: '0.0002', takerSide: 'SELL' },
      { price: '29990', quantity: '0.001', takerSide: 'SELL' },
      { price: '30001', quantity: '0.0005', takerSide: 'BUY' },
      { price: '30000', quantity: '0.001', takerSide: 'BUY' },
    ]);

    // Candles against a one-trade-at-a-time reference computed from the core's Trade events.
    const tradeEvents = events.filter((e) => e.type === 'Trade');
    for (const interval of candleIntervals) {
      const expected = new Map<number, { o: number; h: number; l: number; c: number; v: bigint }>();
      for (const trade of tradeEvents) {
        const t = bucketStartMs(trade.timeMs, interval);
        const c = expected.get(t);
        if (!c)
          expected.set(t, {
            o: trade.priceTicks,
            h: trade.priceTicks,
            l: trade.priceTicks,
            c: trade.priceTicks,
            v: trade.baseUnits,
          });
        else {
          c.h = Math.max(c.h, trade.priceTicks);
          c.l = Math.min(c.l, trade.priceTicks);
          c.c = trade.priceTicks;
          c.v += trade.baseUnits;
        }
      }
      const candles = await reader.candles('BTC-USDT', interval, 100);
      expect(candles).toEqual(
        [...expected.entries()].map(([t, c]) => ({
          openTime: new Date(t),
          open: (c.o / 100).toString(),
          high: (c.h / 100).toString(),
          low: (c.l / 100).toString(),
          close: (c.c / 100).toString(),
          volume: (Number(c.v) / 1e8).toString(),
        })),
      );
    }
  });

  it('keeps memory equal to the tables: a projection loaded from them has the same books', async () => {
    const { test, projection } = await freshProjection();
    databases.push(test);
    await applyInBatches(projection, events, 7);
    const reloaded = await MarketProjection.open({ db: test.db, logger: testLogger });
    expect(reloaded.position).toBe(projection.position);
    for (const market of projection.markets()) {
      expect(reloaded.book(market.marketId)!.snapshot()).toEqual(
        projection.book(market.marketId)!.snapshot(),
      );
      expect(reloaded.lastPriceTicks(market.marketId)).toBe(projection.lastPriceTicks(market.marketId));
    }
    expect(reloaded.markets()).toEqual(projection.markets());
  });

  it('is idempotent: applying the same events again (any split, any instance) changes nothing', async () => {
    const { test, projection } = await freshProjection();
    databases.push(test);
    await projection.apply(events);
    const before = await dump(test.db);
    await projection.apply(events);
    await projection.apply(events.slice(10, 20));
    // A second instance on the same tables (it loads the position) sees every event as applied.
    const other = await MarketProjection.open({ db: test.db, logger: testLogger });
    await applyInBatches(other, events, 5);
    expect(await dump(test.db)).toEqual(before);
  });

  it('two instances following one log on the same tables write each event once', async () => {
    const { test, projection } = await freshProjection();
    databases.push(test);
    const other = await MarketProjection.open({ db: test.db, logger: testLogger });
    const written: number[] = [];
    projection.onCommitted((batch) => void written.push(batch.lastEventSeq));
    other.onCommitted((batch) => void written.push(batch.lastEventSeq));
    // Interleaved: each instance sees every batch, in order; the position lock decides who writes.
    for (let i = 0; i < events.length; i += 9) {
      const batch = events.slice(i, i + 9);
      await Promise.all([projection.apply(batch), other.apply(batch)]);
    }
    expect(written.length).toBe(Math.ceil(events.length / 9));
    const single = await freshProjection();
    databases.push(single.test);
    await single.projection.apply(events);
    expect(await dump(test.db)).toEqual(await dump(single.test.db));
    for (const market of projection.markets())
      expect(other.book(market.marketId)!.snapshot()).toEqual(projection.book(market.marketId)!.snapshot());
  });

  it('lingering, applies what arrives meanwhile as one batch, then follows on; close ends a linger', async () => {
    const test = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
    databases.push(test);
    await seedReferenceData(test.db, referenceAssets, referenceMarkets);
    const lingering = await MarketProjection.open({ db: test.db, logger: testLogger, lingerMs: 1_000 });
    const committed: number[] = [];
    lingering.onCommitted((batch) => void committed.push(batch.lastEventSeq));
    try {
      await lingering.start(core.core);
      await lingering.whenCaughtUp();
      const caughtUpAt = committed.length;
      // Two book changes while it lingers after the catch-up batch: applied together, later.
      await place(core.core, limit('maker-0001', 'BUY', 1_000_001, 10));
      await place(core.core, limit('maker-0001', 'BUY', 1_000_002, 10));
      const last = await core.core.lastEventSeq();
      expect(lingering.position).toBeLessThan(last);
      await eventually(() => lingering.position === last);
      expect(committed.slice(caughtUpAt)).toEqual([last]);
    } finally {
      await lingering.close();
    }
    // Lingering for ten minutes with a delivery waiting: close ends the linger (else this times out).
    const patient = await MarketProjection.open({ db: test.db, logger: testLogger, lingerMs: 600_000 });
    await patient.start(core.core);
    await patient.whenCaughtUp();
    await place(core.core, limit('maker-0001', 'BUY', 1_000_003, 10));
    await patient.close();
  });

  it('rebuilds: a replay from 0 into empty tables reproduces them exactly', async () => {
    const first = await freshProjection();
    const second = await freshProjection();
    databases.push(first.test, second.test);
    await applyInBatches(first.projection, events, 1);
    await applyInBatches(second.projection, events, 1000);
    expect(await dump(second.test.db)).toEqual(await dump(first.test.db));
  });

  it('refuses a gap in the event sequence and changes nothing', async () => {
    const { test, projection } = await freshProjection();
    databases.push(test);
    await projection.apply(events.slice(0, 10));
    const before = await dump(test.db);
    await expect(projection.apply(events.slice(12, 20))).rejects.toThrow(/does not follow/);
    expect(await dump(test.db)).toEqual(before);
    expect(projection.position).toBe(events[9]!.eventSeq);
  });

  it('refuses a batch whose market the tables hold at another book sequence, and writes nothing of it', async () => {
    const { test, projection } = await freshProjection();
    databases.push(test);
    const firstTrade = events.findIndex((event) => event.type === 'Trade');
    await projection.apply(events.slice(0, firstTrade - 1));
    // Someone moved the stored sequence behind the projection's back.
    await test.db.query('UPDATE markets SET book_seq = book_seq + 5 WHERE market_id = $1', [
      MarketIds.BTC_USDT,
    ]);
    const before = await dump(test.db);
    await expect(projection.apply(events.slice(firstTrade - 1))).rejects.toThrow(/stored book sequence/);
    expect(await dump(test.db)).toEqual(before);
  });
});
