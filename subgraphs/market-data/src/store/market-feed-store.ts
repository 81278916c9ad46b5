/**
 * Read queries over the projection's tables: recent trades, candles and the rolling 24 h figures
 * of tickers. Integers come back as text and are formatted with the market's scale.
 */
import type { Queryable } from '@graphex/runtime';
import type { Side } from '@graphex/schema';
import { tickerWindowStartMs, type CandleInterval } from '../domain/candles.ts';
import { baseUnitsDecimal, priceDecimal } from '../domain/scale.ts';
import type { CandleView, TradeView } from '../domain/views.ts';
import type { MarketEntry } from '../projections/batch-plan.ts';

export async function recentTrades(db: Queryable, market: MarketEntry, limit: number): Promise<TradeView[]> {
  const result = await db.query<{
    id: string;
    price: string;
    base: string;
    taker_side: Side;
    time_ms: string;
  }>(
    `SELECT trade_id::text AS id, price_ticks::text AS price, base_units::text AS base, taker_side, time_ms::text AS time_ms
     FROM trades WHERE market_id = $1 ORDER BY event_seq DESC LIMIT $2`,
    [market.marketId, limit],
  );
  return result.rows.map((row) => ({
    id: row.id,
    symbol: market.symbol,
    price: priceDecimal(market.scale, BigInt(row.price)),
    quantity: baseUnitsDecimal(market.scale, BigInt(row.base)),
    takerSide: row.taker_side,
    createdAt: new Date(Number(row.time_ms)),
  }));
}

/** The latest `limit` candles of an interval, oldest first. */
export async function latestCandles(
  db: Queryable,
  market: MarketEntry,
  interval: CandleInterval,
  limit: number,
): Promise<CandleView[]> {
  const result = await db.query<{ t: string; o: string; h: string; l: string; c: string; v: string }>(
    `SELECT open_time_ms::text AS t, open_ticks::text AS o, high_ticks::text AS h, low_ticks::text AS l,
       close_ticks::text AS c, volume_base_units::text AS v
     FROM candles WHERE market_id = $1 AND interval = $2 ORDER BY open_time_ms DESC LIMIT $3`,
    [market.marketId, interval, limit],
  );
  return result.rows.reverse().map((row) => ({
    openTime: new Date(Number(row.t)),
    open: priceDecimal(market.scale, BigInt(row.o)),
    high: priceDecimal(market.scale, BigInt(row.h)),
    low: priceDecimal(market.scale, BigInt(row.l)),
    close: priceDecimal(market.scale, BigInt(row.c)),
    volume: baseUnitsDecimal(market.scale, BigInt(row.v)),
  }));
}

export interface WindowStats {
  readonly openTicks: bigint;
  readonly highTicks: bigint;
  readonly lowTicks: bigint;
  readonly volumeBaseUnits: bigint;
}

/**
 * Rolling 24 h open/high/low/volume per market from the 1m candles of the last 1440 minutes
 * (at most 1440 rows per market, read through the candles primary key) — never a scan of trades.
 * Markets without a trade in the window are absent.
 */
export async function windowStats(
  db: Queryable,
  nowMs: number,
  marketId?: number,
): Promise<Map<number, WindowStats>> {
  const params: unknown[] = [String(tickerWindowStartMs(nowMs)), String(nowMs)];
  if (marketId !== undefined) params.push(marketId);
  const result = await db.query<{ market_id: number; o: string; h: string; l: string; v: string }>(
    `SELECT market_id, (array_agg(open_ticks ORDER BY open_time_ms))[1]::text AS o, max(high_ticks)::text AS h,
       min(low_ticks)::text AS l, sum(volume_base_units)::text AS v
     FROM candles
     WHERE interval = '1m' AND open_time_ms >= $1::bigint AND open_time_ms <= $2::bigint
       ${marketId === undefined ? '' : 'AND market_id = $3'}
     GROUP BY market_id`,
    params,
  );
  const stats = new Map<number, WindowStats>();
  for (const row of result.rows) {
    stats.set(Number(row.market_id), {
      openTicks: BigInt(row.o),
      highTicks: BigInt(row.h),
      lowTicks: BigInt(row.l),
      volumeBaseUnits: BigInt(row.v),
    });
  }
  return stats;
}
