/**
 * Candle intervals, bucketing by event time and the aggregation of a batch of trades into partial
 * candles (one per market, interval and bucket) that the store merges into persisted ones. Exact:
 * prices in ticks, volumes in base units (bigint).
 */

export const candleIntervals = ['1m', '5m', '1h', '1d'] as const;
export type CandleInterval = (typeof candleIntervals)[number];

export const intervalMs: Readonly<Record<CandleInterval, number>> = {
  '1m': 60_000,
  '5m': 5 * 60_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

export function isCandleInterval(value: string): value is CandleInterval {
  return (candleIntervals as readonly string[]).includes(value);
}

/** Start of the UTC bucket of `interval` holding `timeMs` (days start at 00:00 UTC). */
export function bucketStartMs(timeMs: number, interval: CandleInterval): number {
  const size = intervalMs[interval];
  return timeMs - (((timeMs % size) + size) % size);
}

export interface CandleTrade {
  readonly marketId: number;
  readonly timeMs: number;
  readonly priceTicks: number;
  readonly baseUnits: bigint;
  readonly quoteUnits: bigint;
}

/** OHLCV of the trades of one batch in one bucket; merged into the stored candle (open kept). */
export interface PartialCandle {
  readonly marketId: number;
  readonly interval: CandleInterval;
  readonly openTimeMs: number;
  readonly openTicks: number;
  highTicks: number;
  lowTicks: number;
  closeTicks: number;
  volumeBaseUnits: bigint;
  quoteVolumeUnits: bigint;
  tradeCount: number;
}

/**
 * Aggregates trades (in event order) into partial candles for every interval. The first trade of
 * a bucket in the batch opens it and the last closes it, so merging partials in batch order into
 * the stored candles gives the same OHLCV as applying the trades one by one.
 */
export function aggregateCandles(trades: readonly CandleTrade[]): PartialCandle[] {
  const byKey = new Map<string, PartialCandle>();
  for (const trade of trades) {
    for (const interval of candleIntervals) {
      const openTimeMs = bucketStartMs(trade.timeMs, interval);
      const key = `${trade.marketId}/${interval}/${openTimeMs}`;
      const candle = byKey.get(key);
      if (!candle) {
        byKey.set(key, {
          marketId: trade.marketId,
          interval,
          openTimeMs,
          openTicks: trade.priceTicks,
          highTicks: trade.priceTicks,
          lowTicks: trade.priceTicks,
          closeTicks: trade.priceTicks,
          volumeBaseUnits: trade.baseUnits,
          quoteVolumeUnits: trade.quoteUnits,
          tradeCount: 1,
        });
        continue;
      }
      candle.highTicks = Math.max(candle.highTicks, trade.priceTicks);
      candle.lowTicks = Math.min(candle.lowTicks, trade.priceTicks);
      candle.closeTicks = trade.priceTicks;
      candle.volumeBaseUnits += trade.baseUnits;
      candle.quoteVolumeUnits += trade.quoteUnits;
      candle.tradeCount += 1;
    }
  }
  return [...byKey.values()];
}

/** Number of 1m buckets in the rolling ticker window (24 h at one-minute granularity). */
export const tickerWindowMinutes = 24 * 60;

/**
 * First 1m bucket of the rolling 24 h window at `nowMs`: the window is the last 1440 one-minute
 * buckets, the current (partial) minute included.
 */
export function tickerWindowStartMs(nowMs: number): number {
  return bucketStartMs(nowMs, '1m') - (tickerWindowMinutes - 1) * intervalMs['1m'];
}
