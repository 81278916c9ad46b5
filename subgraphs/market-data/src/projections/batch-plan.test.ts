/** Pure unit tests of batch planning (constructed events are fine here: no I/O, no core). */
import { describe, expect, it } from 'vitest';
import type { PublicCoreEvent } from '@graphex/schema';
import { Catalog, ProjectionInvariantError, planBatch } from './batch-plan.ts';

let eventSeq = 0;
const at = (event: Record<string, unknown>, timeMs = 1_700_000_000_000): PublicCoreEvent =>
  ({ eventSeq: ++eventSeq, seq: eventSeq, timeMs, ...event }) as PublicCoreEvent;

function catalogEvents(): PublicCoreEvent[] {
  return [
    at({ type: 'AssetAdded', assetId: 1, symbol: 'BTC', decimals: 8 }),
    at({ type: 'AssetAdded', assetId: 3, symbol: 'USDT', decimals: 6 }),
    at({
      type: 'MarketAdded',
      market: {
        marketId: 1,
        symbol: 'BTC-USDT',
        baseAssetId: 1,
        quoteAssetId: 3,
        tickSizeQuoteUnits: 10_000n,
        lotSizeBaseUnits: 1_000n,
        minNotionalQuoteUnits: 1_000_000n,
        makerFeePpm: 1_000,
        takerFeePpm: 2_000,
        maxPriceTicks: 1e12,
        maxQuantityLots: 1e12,
      },
    }),
  ];
}

const level = (bookSeq: number, side: string, priceTicks: number, quantityLots: number) =>
  at({
    type: 'BookLevelChanged',
    marketId: 1,
    bookSeq,
    side,
    priceTicks,
    quantityLots,
    orderCount: quantityLots ? 1 : 0,
  });

describe('batch plan', () => {
  it('turns catalog events into market rows with exact decimals', () => {
    const plan = planBatch(catalogEvents(), new Catalog());
    expect(plan.markets[0]).toMatchObject({
      symbol: 'BTC-USDT',
      baseCurrency: 'BTC',
      quoteCurrency: 'USDT',
      tickSize: '0.01',
      lotSize: '0.00001',
      minNotional: '1',
      makerFeeRate: '0.001',
      takerFeeRate: '0.002',
    });
    expect(plan.catalog.marketsBySymbol.get('BTC-USDT')?.scale).toEqual({
      tickSizeQuoteUnits: 10_000n,
      lotSizeBaseUnits: 1_000n,
      baseDecimals: 8,
      quoteDecimals: 6,
    });
  });

  it('collapses repeated level changes to their final state and tracks first and last bookSeq', () => {
    const { catalog } = planBatch(catalogEvents(), new Catalog());
    const plan = planBatch(
      [level(1, 'BUY', 100, 5), level(2, 'SELL', 110, 1), level(3, 'BUY', 100, 0), level(4, 'BUY', 100, 7)],
      catalog,
    );
    expect(plan.levels).toEqual([
      { marketId: 1, side: 'SELL', priceTicks: 110, quantityLots: 1, orderCount: 1 },
      { marketId: 1, side: 'BUY', priceTicks: 100, quantityLots: 7, orderCount: 1 },
    ]);
    expect(plan.firstBookSeqs.get(1)).toBe(1);
    expect(plan.bookSeqs.get(1)).toBe(4);
  });

  it('refuses unknown markets, book sequence gaps and out-of-order events', () => {
    const { catalog } = planBatch(catalogEvents(), new Catalog());
    expect(() =>
      planBatch([at({ type: 'MarketStatusChanged', marketId: 9, halted: true })], catalog),
    ).toThrow(ProjectionInvariantError);
    expect(() => planBatch([level(1, 'BUY', 1, 1), level(3, 'BUY', 2, 1)], catalog)).toThrow(/follows/);
    const [a, b] = [level(1, 'BUY', 1, 1), level(2, 'BUY', 2, 1)];
    expect(() => planBatch([b!, a!], catalog)).toThrow(/arrived after/);
  });

  it('does not touch the catalog it was given', () => {
    const catalog = new Catalog();
    planBatch(catalogEvents(), catalog);
    expect(catalog.markets.size).toBe(0);
  });
});
