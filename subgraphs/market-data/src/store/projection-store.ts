/**
 * The projection's tables: loading the in-memory state at start and writing one batch plan inside
 * the batch's transaction. Integers travel as text both ways so no bigint passes through a JS
 * number on either adapter; statements are multi-row and chunked (a bound on parameters).
 */
import type { Database, Queryable } from '@graphex/runtime';
import type { Side } from '@graphex/schema';
import { OrderBookState, type BookLevel } from '../domain/book.ts';
import {
  Catalog,
  ProjectionInvariantError,
  type BatchPlan,
  type LevelRow,
} from '../projections/batch-plan.ts';

/** Rows per multi-row statement (≤ 12 parameters each: far below PostgreSQL's 65,535). */
const rowsPerStatement = 500;

function chunks<T>(rows: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < rows.length; i += rowsPerStatement) result.push(rows.slice(i, i + rowsPerStatement));
  return result;
}

/** `($1, $2::bigint), ($3, $4::bigint)` for rows of `casts.length` columns. */
function valuesList(rowCount: number, casts: readonly string[]): string {
  const rows: string[] = [];
  for (let row = 0; row < rowCount; row++) {
    const base = row * casts.length;
    rows.push(`(${casts.map((cast, column) => `$${base + column + 1}${cast}`).join(', ')})`);
  }
  return rows.join(', ');
}

const safeInteger = (text: string, what: string): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new ProjectionInvariantError(`${what} ${text} is not a safe integer`);
  return value;
};

export interface ProjectionState {
  readonly eventSeq: number;
  readonly catalog: Catalog;
  readonly books: Map<number, OrderBookState>;
  readonly lastPrices: Map<number, number>;
}

/** Reads the whole projection state consistently (the position row locked against writers). */
export async function loadProjectionState(db: Database): Promise<ProjectionState> {
  return db.transaction(async (tx) => {
    const position = await tx.query<{ event_seq: string }>(
      'SELECT event_seq::text AS event_seq FROM projection_position FOR UPDATE',
    );
    const eventSeq = safeInteger(position.rows[0]?.event_seq ?? 'missing', 'position');
    const catalog = new Catalog();
    const assets = await tx.query<{ asset_id: number; symbol: string; decimals: number }>(
      'SELECT asset_id, symbol, decimals FROM assets WHERE asset_id IS NOT NULL',
    );
    for (const row of assets.rows)
      catalog.addAsset({ assetId: Number(row.asset_id), symbol: row.symbol, decimals: Number(row.decimals) });
    const markets = await tx.query<{
      market_id: number;
      symbol: string;
      base_currency: string;
      quote_currency: string;
      tick: string;
      lot: string;
      book_seq: string;
      last_price: string | null;
      base_decimals: number;
      quote_decimals: number;
    }>(
      `SELECT m.market_id, m.symbol, m.base_currency, m.quote_currency, m.tick_size_quote_units::text AS tick,
         m.lot_size_base_units::text AS lot, m.book_seq::text AS book_seq, m.last_price_ticks::text AS last_price,
         b.decimals AS base_decimals, q.decimals AS quote_decimals
       FROM markets m JOIN assets b ON b.symbol = m.base_currency JOIN assets q ON q.symbol = m.quote_currency
       WHERE m.market_id IS NOT NULL`,
    );
    const books = new Map<number, { bookSeq: number; bids: BookLevel[]; asks: BookLevel[] }>();
    const lastPrices = new Map<number, number>();
    for (const row of markets.rows) {
      const marketId = Number(row.market_id);
      catalog.addMarket({
        marketId,
        symbol: row.symbol,
        baseCurrency: row.base_currency,
        quoteCurrency: row.quote_currency,
        scale: {
          tickSizeQuoteUnits: BigInt(row.tick),
          lotSizeBaseUnits: BigInt(row.lot),
          baseDecimals: Number(row.base_decimals),
          quoteDecimals: Number(row.quote_decimals),
        },
      });
      books.set(marketId, { bookSeq: safeInteger(row.book_seq, 'book_seq'), bids: [], asks: [] });
      if (row.last_price !== null) lastPrices.set(marketId, safeInteger(row.last_price, 'last price'));
    }
    const levels = await tx.query<{
      market_id: number;
      side: Side;
      price: string;
      quantity: string;
      order_count: number;
    }>(
      `SELECT market_id, side, price_ticks::text AS price, quantity_lots::text AS quantity, order_count
       FROM book_levels`,
    );
    for (const row of levels.rows) {
      const book = books.get(Number(row.market_id));
      if (!book) throw new ProjectionInvariantError(`Book level of unknown market ${row.market_id}`);
      (row.side === 'BUY' ? book.bids : book.asks).push({
        priceTicks: safeInteger(row.price, 'price'),
        quantityLots: safeInteger(row.quantity, 'quantity'),
        orderCount: Number(row.order_count),
      });
    }
    const bookStates = new Map<number, OrderBookState>();
    for (const [marketId, book] of books) bookStates.set(marketId, OrderBookState.from(book));
    return { eventSeq, catalog, books: bookStates, lastPrices };
  });
}

/** Locks the position row for this transaction and returns it. */
export async function lockPosition(tx: Queryable): Promise<number> {
  const position = await tx.query<{ event_seq: string }>(
    'SELECT event_seq::text AS event_seq FROM projection_position FOR UPDATE',
  );
  return safeInteger(position.rows[0]?.event_seq ?? 'missing', 'position');
}

async function writeLevels(tx: Queryable, levels: readonly LevelRow[]): Promise<void> {
  const kept = levels.filter((level) => level.quantityLots > 0);
  const removed = levels.filter((level) => level.quantityLots === 0);
  for (const chunk of chunks(kept)) {
    await tx.query(
      `INSERT INTO book_levels (market_id, side, price_ticks, quantity_lots, order_count)
       VALUES ${valuesList(chunk.length, ['::integer', '::text', '::bigint', '::bigint', '::integer'])}
       ON CONFLICT (market_id, side, price_ticks)
       DO UPDATE SET quantity_lots = excluded.quantity_lots, order_count = excluded.order_count`,
      chunk.flatMap((l) => [l.marketId, l.side, String(l.priceTicks), String(l.quantityLots), l.orderCount]),
    );
  }
  for (const chunk of chunks(removed)) {
    await tx.query(
      `DELETE FROM book_levels WHERE (market_id, side, price_ticks) IN
       (VALUES ${valuesList(chunk.length, ['::integer', '::text', '::bigint'])})`,
      chunk.flatMap((l) => [l.marketId, l.side, String(l.priceTicks)]),
    );
  }
}

/** Writes one batch plan. The caller holds the position lock and commits. */
export async function writePlan(tx: Queryable, plan: BatchPlan): Promise<void> {
  for (const asset of plan.assets) {
    await tx.query(
      `INSERT INTO assets (symbol, name, decimals, asset_id) VALUES ($1, $1, $2, $3)
       ON CONFLICT (symbol) DO UPDATE SET asset_id = excluded.asset_id, decimals = excluded.decimals`,
      [asset.symbol, asset.decimals, asset.assetId],
    );
  }
  for (const market of plan.markets) {
    // Reconciles with the seeded row by symbol; the core's sizes and fees are authoritative.
    await tx.query(
      `INSERT INTO markets (symbol, base_currency, quote_currency, tick_size, lot_size, min_notional,
         maker_fee_rate, taker_fee_rate, market_id, tick_size_quote_units, lot_size_base_units, created_at, updated_at)
       VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6::numeric, $7::numeric, $8::numeric, $9, $10::numeric,
         $11::numeric, to_timestamp($12::bigint / 1000.0), to_timestamp($12::bigint / 1000.0))
       ON CONFLICT (symbol) DO UPDATE SET
         tick_size = excluded.tick_size, lot_size = excluded.lot_size, min_notional = excluded.min_notional,
         maker_fee_rate = excluded.maker_fee_rate, taker_fee_rate = excluded.taker_fee_rate,
         market_id = excluded.market_id, tick_size_quote_units = excluded.tick_size_quote_units,
         lot_size_base_units = excluded.lot_size_base_units`,
      [
        market.symbol,
        market.baseCurrency,
        market.quoteCurrency,
        market.tickSize,
        market.lotSize,
        market.minNotional,
        market.makerFeeRate,
        market.takerFeeRate,
        market.marketId,
        market.tickSizeQuoteUnits.toString(),
        market.lotSizeBaseUnits.toString(),
        String(market.timeMs),
      ],
    );
  }
  for (const status of plan.statuses) {
    await tx.query(
      `UPDATE markets SET status = $2, updated_at = to_timestamp($3::bigint / 1000.0) WHERE market_id = $1`,
      [status.marketId, status.halted ? 'HALTED' : 'TRADING', String(status.timeMs)],
    );
  }
  await writeLevels(tx, plan.levels);
  for (const chunk of chunks(plan.trades)) {
    await tx.query(
      `INSERT INTO trades (trade_id, market_id, event_seq, price_ticks, quantity_lots, base_units, quote_units, taker_side, time_ms)
       VALUES ${valuesList(chunk.length, ['::bigint', '::integer', '::bigint', '::bigint', '::bigint', '::numeric', '::numeric', '::text', '::bigint'])}`,
      chunk.flatMap((t) => [
        String(t.tradeId),
        t.marketId,
        String(t.eventSeq),
        String(t.priceTicks),
        String(t.quantityLots),
        t.baseUnits.toString(),
        t.quoteUnits.toString(),
        t.takerSide,
        String(t.timeMs),
      ]),
    );
  }
  for (const chunk of chunks(plan.candles)) {
    // Merging a partial: the stored candle keeps its open; the batch's last trade closes it.
    await tx.query(
      `INSERT INTO candles (market_id, interval, open_time_ms, open_ticks, high_ticks, low_ticks, close_ticks,
         volume_base_units, quote_volume_units, trade_count)
       VALUES ${valuesList(chunk.length, ['::integer', '::text', '::bigint', '::bigint', '::bigint', '::bigint', '::bigint', '::numeric', '::numeric', '::integer'])}
       ON CONFLICT (market_id, interval, open_time_ms) DO UPDATE SET
         high_ticks = GREATEST(candles.high_ticks, excluded.high_ticks),
         low_ticks = LEAST(candles.low_ticks, excluded.low_ticks),
         close_ticks = excluded.close_ticks,
         volume_base_units = candles.volume_base_units + excluded.volume_base_units,
         quote_volume_units = candles.quote_volume_units + excluded.quote_volume_units,
         trade_count = candles.trade_count + excluded.trade_count`,
      chunk.flatMap((c) => [
        c.marketId,
        c.interval,
        String(c.openTimeMs),
        String(c.openTicks),
        String(c.highTicks),
        String(c.lowTicks),
        String(c.closeTicks),
        c.volumeBaseUnits.toString(),
        c.quoteVolumeUnits.toString(),
        c.tradeCount,
      ]),
    );
  }
  await writeMarketsAndPosition(tx, plan);
}

/**
 * The batch's new book sequence and last price per market and the projection position: one
 * statement for all of them (they were one statement per market and field, on every trade). Pair
 * assertion: a market's stored book sequence must be the one this batch's first book event follows,
 * else nothing of it is written and the batch fails.
 */
async function writeMarketsAndPosition(tx: Queryable, plan: BatchPlan): Promise<void> {
  const marketIds = [...new Set([...plan.bookSeqs.keys(), ...plan.lastPrices.keys()])];
  const bookSeqOf = (marketId: number): string | null => {
    const bookSeq = plan.bookSeqs.get(marketId);
    return bookSeq === undefined ? null : String(bookSeq);
  };
  const result = await tx.query<{ position: string; markets: number[] }>(
    `WITH position AS (
       UPDATE projection_position SET event_seq = $1::bigint RETURNING event_seq),
     changed AS (
       UPDATE markets m SET book_seq = coalesce(r.book_seq, m.book_seq),
         last_price_ticks = coalesce(r.last_price_ticks, m.last_price_ticks)
       FROM unnest($2::integer[], $3::bigint[], $4::bigint[], $5::bigint[])
         AS r(market_id, book_seq, expected_book_seq, last_price_ticks)
       WHERE m.market_id = r.market_id AND (r.book_seq IS NULL OR m.book_seq = r.expected_book_seq)
       RETURNING m.market_id)
     SELECT (SELECT count(*) FROM position)::text AS position,
       array(SELECT market_id FROM changed ORDER BY market_id) AS markets`,
    [
      String(plan.lastEventSeq),
      marketIds,
      marketIds.map(bookSeqOf),
      marketIds.map((marketId) =>
        plan.bookSeqs.has(marketId) ? String((plan.firstBookSeqs.get(marketId) ?? 1) - 1) : null,
      ),
      marketIds.map((marketId) => {
        const priceTicks = plan.lastPrices.get(marketId);
        return priceTicks === undefined ? null : String(priceTicks);
      }),
    ],
  );
  const row = result.rows[0]!;
  if (row.position !== '1') throw new ProjectionInvariantError('The projection position row is missing');
  const changed = new Set(row.markets.map(Number));
  for (const marketId of marketIds) {
    if (!changed.has(marketId)) {
      const expected = (plan.firstBookSeqs.get(marketId) ?? 1) - 1;
      throw new ProjectionInvariantError(
        plan.bookSeqs.has(marketId)
          ? `Market ${marketId}: stored book sequence is not ${expected}`
          : `Market ${marketId} is not stored`,
      );
    }
  }
}
