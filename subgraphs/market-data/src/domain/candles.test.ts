import { describe, expect, it } from 'vitest';
import { aggregateCandles, bucketStartMs, isCandleInterval, tickerWindowStartMs } from './candles.ts';

describe('candles', () => {
  it('buckets by UTC interval boundaries', () => {
    const t = Date.UTC(2026, 0, 31, 13, 47, 59, 999);
    expect(new Date(bucketStartMs(t, '1m')).toISOString()).toBe('2026-01-31T13:47:00.000Z');
    expect(new Date(bucketStartMs(t, '5m')).toISOString()).toBe('2026-01-31T13:45:00.000Z');
    expect(new Date(bucketStartMs(t, '1h')).toISOString()).toBe('2026-01-31T13:00:00.000Z');
    expect(new Date(bucketStartMs(t, '1d')).toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(bucketStartMs(Date.UTC(2026, 0, 31, 13, 45), '5m')).toBe(Date.UTC(2026, 0, 31, 13, 45));
  });

  it('accepts only the four intervals', () => {
    expect(['1m', '5m', '1h', '1d'].every(isCandleInterval)).toBe(true);
    for (const bad of ['1M', '15m', '', '1w', '1m ']) expect(isCandleInterval(bad)).toBe(false);
  });

  it('aggregates OHLCV exactly per bucket, first trade opens and last closes', () => {
    const base = Date.UTC(2026, 0, 1, 0, 0, 30);
    const trade = (offsetMs: number, priceTicks: number, baseUnits: bigint) => ({
      marketId: 1,
      timeMs: base + offsetMs,
      priceTicks,
      baseUnits,
      quoteUnits: baseUnits * BigInt(priceTicks),
    });
    const candles = aggregateCandles([
      trade(0, 100, 2n ** 60n),
      trade(1_000, 105, 1n),
      trade(2_000, 95, 3n),
      trade(40_000, 101, 7n), // next minute
    ]);
    const minute = candles.filter((c) => c.interval === '1m');
    expect(minute).toEqual([
      {
        marketId: 1,
        interval: '1m',
        openTimeMs: Date.UTC(2026, 0, 1, 0, 0),
        openTicks: 100,
        highTicks: 105,
        lowTicks: 95,
        closeTicks: 95,
        volumeBaseUnits: 2n ** 60n + 4n,
        quoteVolumeUnits: 2n ** 60n * 100n + 105n + 285n,
        tradeCount: 3,
      },
      expect.objectContaining({
        openTimeMs: Date.UTC(2026, 0, 1, 0, 1),
        openTicks: 101,
        closeTicks: 101,
        tradeCount: 1,
      }),
    ]);
    const day = candles.filter((c) => c.interval === '1d');
    expect(day).toHaveLength(1);
    expect(day[0]).toMatchObject({
      openTicks: 100,
      closeTicks: 101,
      highTicks: 105,
      lowTicks: 95,
      tradeCount: 4,
    });
  });

  it('rolls the ticker window over the last 1440 one-minute buckets', () => {
    const now = Date.UTC(2026, 0, 2, 12, 30, 15);
    expect(new Date(tickerWindowStartMs(now)).toISOString()).toBe('2026-01-01T12:31:00.000Z');
  });
});
