import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MarketMath, feeUnits } from './money.ts';

const MAX = Number.MAX_SAFE_INTEGER;
const btcUsdt = new MarketMath(10_000n, 1_000n, 8); // tick 0.01 USDT, lot 0.00001 BTC
const ethUsdt = new MarketMath(10_000n, 10n ** 14n, 18); // tick 0.01 USDT, lot 0.0001 ETH
const ethBtc = new MarketMath(100n, 10n ** 15n, 18); // tick 0.000001 BTC, lot 0.001 ETH

const exactFloor = (m: MarketMath, p: number, q: number) => (BigInt(p) * BigInt(q) * m.quoteNum) / m.quoteDen;
const exactCeil = (m: MarketMath, p: number, q: number) =>
  (BigInt(p) * BigInt(q) * m.quoteNum + m.quoteDen - 1n) / m.quoteDen;

describe('MarketMath', () => {
  it('reduces quote units per tick·lot for the reference markets', () => {
    expect([btcUsdt.quoteNum, btcUsdt.quoteDen]).toEqual([1n, 10n]); // 0.1 micro-USDT
    expect([ethUsdt.quoteNum, ethUsdt.quoteDen]).toEqual([1n, 1n]); // 1 micro-USDT
    expect([ethBtc.quoteNum, ethBtc.quoteDen]).toEqual([1n, 10n]); // 0.1 satoshi
  });

  it('floors trade amounts and ceils holds (BTC-USDT fraction of a unit)', () => {
    // 3 lots at 10,000.01 USDT: 300,000.3 micro-USDT
    expect(btcUsdt.notionalFloor(1_000_001, 3)).toBe(300_000n);
    expect(btcUsdt.notionalCeil(1_000_001, 3)).toBe(300_001n);
    expect(btcUsdt.notionalFloor(1_000_000, 3)).toBe(300_000n);
    expect(btcUsdt.notionalCeil(1_000_000, 3)).toBe(300_000n);
  });

  it('is exact at the extremes: max price × max quantity, 18-decimal ETH', () => {
    for (const m of [btcUsdt, ethUsdt, ethBtc]) {
      expect(m.notionalFloor(MAX, MAX)).toBe(exactFloor(m, MAX, MAX));
      expect(m.notionalCeil(MAX, MAX)).toBe(exactCeil(m, MAX, MAX));
      expect(m.baseUnits(MAX)).toBe(BigInt(MAX) * m.lotSizeBaseUnits);
    }
    // 10^12 lots of 0.0001 ETH = 10^8 ETH = 10^26 wei: far beyond 2^53
    expect(ethUsdt.baseUnits(1_000_000_000_000)).toBe(10n ** 26n);
    // the largest double-path product and one past it agree with bigint
    const edge = Math.floor(MAX / 1);
    expect(ethUsdt.notionalFloor(edge, 1)).toBe(BigInt(edge));
    expect(ethUsdt.notionalFloor(edge, 2)).toBe(BigInt(edge) * 2n);
  });

  it('fast path equals exact rational arithmetic (property)', () => {
    const price = fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: MAX }));
    const qty = fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: MAX }));
    fc.assert(
      fc.property(price, qty, fc.constantFrom(btcUsdt, ethUsdt, ethBtc), (p, q, m) => {
        expect(m.notionalFloor(p, q)).toBe(exactFloor(m, p, q));
        expect(m.notionalCeil(p, q)).toBe(exactCeil(m, p, q));
        expect(m.baseUnits(q)).toBe(BigInt(q) * m.lotSizeBaseUnits);
        const withMin = new MarketMath(m.quoteNum, 1n, 0, 1_000_000n); // N/D = quoteNum/1
        expect(withMin.belowMinNotional(p, q)).toBe(BigInt(p) * BigInt(q) * m.quoteNum < 1_000_000n);
      }),
      { numRuns: 2_000 },
    );
  });

  it('affordableLots is the largest quantity whose floored cost fits the budget (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.integer({ min: 1, max: 100_000_000 }),
        fc.constantFrom(btcUsdt, ethUsdt, ethBtc),
        (budget, p, m) => {
          const q = m.affordableLots(budget, p);
          expect(exactFloor(m, p, q) <= budget).toBe(true);
          if (q < MAX) expect(exactFloor(m, p, q + 1) > budget).toBe(true); // else capped at 2^53 − 1
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('fees round up (exchange favour) and never exceed the amount', () => {
    expect(feeUnits(3_000n, 2_000n)).toBe(6n);
    expect(feeUnits(1n, 1_000n)).toBe(1n);
    expect(feeUnits(0n, 1_000n)).toBe(0n);
    expect(feeUnits(999n, 0n)).toBe(0n);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (amount, ppm) => {
          const fee = feeUnits(amount, BigInt(ppm));
          expect(fee * 1_000_000n >= amount * BigInt(ppm)).toBe(true);
          expect((fee - 1n) * 1_000_000n < amount * BigInt(ppm) || fee === 0n).toBe(true);
          expect(fee <= amount).toBe(true);
        },
      ),
    );
  });
});

describe('reference setup', () => {
  it('derives the CONTRACT.md markets from @graphex/schema reference data in base units', async () => {
    const { referenceSetupCommands, AssetIds, MarketIds } = await import('./reference-setup.ts');
    expect(referenceSetupCommands.slice(0, 3)).toEqual([
      { type: 'AddAsset', assetId: AssetIds.BTC, symbol: 'BTC', decimals: 8 },
      { type: 'AddAsset', assetId: AssetIds.ETH, symbol: 'ETH', decimals: 18 },
      { type: 'AddAsset', assetId: AssetIds.USDT, symbol: 'USDT', decimals: 6 },
    ]);
    const markets = referenceSetupCommands.slice(3) as {
      marketId: number;
      tickSizeQuoteUnits: bigint;
      lotSizeBaseUnits: bigint;
      minNotionalQuoteUnits: bigint;
      makerFeePpm: number;
      takerFeePpm: number;
    }[];
    expect(
      markets.map((m) => [
        m.marketId,
        m.tickSizeQuoteUnits,
        m.lotSizeBaseUnits,
        m.minNotionalQuoteUnits,
        m.makerFeePpm,
        m.takerFeePpm,
      ]),
    ).toEqual([
      [MarketIds.BTC_USDT, 10_000n, 1_000n, 1_000_000n, 1_000, 2_000],
      [MarketIds.ETH_USDT, 10_000n, 10n ** 14n, 1_000_000n, 1_000, 2_000],
      [MarketIds.ETH_BTC, 100n, 10n ** 15n, 10_000n, 1_000, 2_000],
    ]);
  });
});
