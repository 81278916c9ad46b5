/**
 * Pure half of the projection: turns a batch of core events into what the store writes — catalog
 * rows, the final state of every touched book level, per-market book sequences, trades, partial
 * candles and last prices — collapsing repeated changes so a batch costs one statement per table.
 */
import type { PublicCoreEvent, Side } from '@graphex/schema';
import { aggregateCandles, type CandleTrade, type PartialCandle } from '../domain/candles.ts';
import { feeRateDecimal, type MarketScale } from '../domain/scale.ts';
import { formatDecimal } from '@graphex/runtime';

export interface AssetEntry {
  readonly assetId: number;
  readonly symbol: string;
  readonly decimals: number;
}

export interface MarketEntry {
  readonly marketId: number;
  readonly symbol: string;
  readonly baseCurrency: string;
  readonly quoteCurrency: string;
  readonly scale: MarketScale;
}

/** The core's markets and assets by id, and markets by symbol. Small; cloned per batch. */
export class Catalog {
  readonly assets = new Map<number, AssetEntry>();
  readonly markets = new Map<number, MarketEntry>();
  readonly marketsBySymbol = new Map<string, MarketEntry>();

  addAsset(asset: AssetEntry): void {
    this.assets.set(asset.assetId, asset);
  }

  addMarket(market: MarketEntry): void {
    this.markets.set(market.marketId, market);
    this.marketsBySymbol.set(market.symbol, market);
  }

  clone(): Catalog {
    const copy = new Catalog();
    for (const asset of this.assets.values()) copy.addAsset(asset);
    for (const market of this.markets.values()) copy.addMarket(market);
    return copy;
  }
}

/** A market as MarketAdded describes it, with decimals for the catalog table. */
export interface MarketRow {
  readonly marketId: number;
  readonly symbol: string;
  readonly baseCurrency: string;
  readonly quoteCurrency: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly minNotional: string;
  readonly makerFeeRate: string;
  readonly takerFeeRate: string;
  readonly tickSizeQuoteUnits: bigint;
  readonly lotSizeBaseUnits: bigint;
  readonly timeMs: number;
}

export interface LevelRow {
  readonly marketId: number;
  readonly side: Side;
  readonly priceTicks: number;
  /** 0: the level is gone (deleted). */
  readonly quantityLots: number;
  readonly orderCount: number;
}

export interface TradeRow {
  readonly tradeId: number;
  readonly marketId: number;
  readonly eventSeq: number;
  readonly priceTicks: number;
  readonly quantityLots: number;
  readonly baseUnits: bigint;
  readonly quoteUnits: bigint;
  readonly takerSide: Side;
  readonly timeMs: number;
}

export interface BatchPlan {
  readonly lastEventSeq: number;
  readonly assets: readonly AssetEntry[];
  readonly markets: readonly MarketRow[];
  readonly statuses: ReadonlyArray<{
    readonly marketId: number;
    readonly halted: boolean;
    readonly timeMs: number;
  }>;
  /** Final state of each touched level, in first-touch order. */
  readonly levels: readonly LevelRow[];
  /** First bookSeq per market touched (the stored sequence must be one less). */
  readonly firstBookSeqs: ReadonlyMap<number, number>;
  /** Last bookSeq per market touched. */
  readonly bookSeqs: ReadonlyMap<number, number>;
  readonly trades: readonly TradeRow[];
  readonly candles: readonly PartialCandle[];
  readonly lastPrices: ReadonlyMap<number, number>;
  /** The catalog after the batch. */
  readonly catalog: Catalog;
}

/** Thrown when events contradict the projection (unknown market, sequence gap): stop, never skip. */
export class ProjectionInvariantError extends Error {
  override name = 'ProjectionInvariantError';
}

export function planBatch(events: readonly PublicCoreEvent[], catalog: Catalog): BatchPlan {
  const next = catalog.clone();
  const assets: AssetEntry[] = [];
  const markets: MarketRow[] = [];
  const statuses: { marketId: number; halted: boolean; timeMs: number }[] = [];
  const levels = new Map<string, LevelRow>();
  const bookSeqs = new Map<number, number>();
  const firstBookSeqs = new Map<number, number>();
  const trades: TradeRow[] = [];
  const candleTrades: CandleTrade[] = [];
  const lastPrices = new Map<number, number>();
  const knownMarket = (marketId: number, eventSeq: number): void => {
    if (!next.markets.has(marketId))
      throw new ProjectionInvariantError(`Event ${eventSeq} refers to unknown market ${marketId}`);
  };
  let lastEventSeq = 0;
  for (const event of events) {
    if (event.eventSeq <= lastEventSeq)
      throw new ProjectionInvariantError(`Event ${event.eventSeq} arrived after ${lastEventSeq}`);
    lastEventSeq = event.eventSeq;
    switch (event.type) {
      case 'AssetAdded': {
        const asset = { assetId: event.assetId, symbol: event.symbol, decimals: event.decimals };
        next.addAsset(asset);
        assets.push(asset);
        break;
      }
      case 'MarketAdded': {
        const { market } = event;
        const base = next.assets.get(market.baseAssetId);
        const quote = next.assets.get(market.quoteAssetId);
        if (!base || !quote)
          throw new ProjectionInvariantError(
            `Market ${market.symbol} (event ${event.eventSeq}) has an unknown asset`,
          );
        const scale: MarketScale = {
          tickSizeQuoteUnits: market.tickSizeQuoteUnits,
          lotSizeBaseUnits: market.lotSizeBaseUnits,
          baseDecimals: base.decimals,
          quoteDecimals: quote.decimals,
        };
        next.addMarket({
          marketId: market.marketId,
          symbol: market.symbol,
          baseCurrency: base.symbol,
          quoteCurrency: quote.symbol,
          scale,
        });
        markets.push({
          marketId: market.marketId,
          symbol: market.symbol,
          baseCurrency: base.symbol,
          quoteCurrency: quote.symbol,
          tickSize: formatDecimal(market.tickSizeQuoteUnits, quote.decimals),
          lotSize: formatDecimal(market.lotSizeBaseUnits, base.decimals),
          minNotional: formatDecimal(market.minNotionalQuoteUnits, quote.decimals),
          makerFeeRate: feeRateDecimal(market.makerFeePpm),
          takerFeeRate: feeRateDecimal(market.takerFeePpm),
          tickSizeQuoteUnits: market.tickSizeQuoteUnits,
          lotSizeBaseUnits: market.lotSizeBaseUnits,
          timeMs: event.timeMs,
        });
        break;
      }
      case 'MarketStatusChanged':
        knownMarket(event.marketId, event.eventSeq);
        statuses.push({ marketId: event.marketId, halted: event.halted, timeMs: event.timeMs });
        break;
      case 'BookLevelChanged': {
        knownMarket(event.marketId, event.eventSeq);
        const previous = bookSeqs.get(event.marketId);
        if (previous !== undefined && event.bookSeq !== previous + 1)
          throw new ProjectionInvariantError(
            `Market ${event.marketId}: book event ${event.bookSeq} follows ${previous} (event ${event.eventSeq})`,
          );
        if (previous === undefined) firstBookSeqs.set(event.marketId, event.bookSeq);
        bookSeqs.set(event.marketId, event.bookSeq);
        const key = `${event.marketId}/${event.side}/${event.priceTicks}`;
        // Re-inserting moves a level to the end: deletes and upserts of one key never conflict.
        levels.delete(key);
        levels.set(key, {
          marketId: event.marketId,
          side: event.side,
          priceTicks: event.priceTicks,
          quantityLots: event.quantityLots,
          orderCount: event.orderCount,
        });
        break;
      }
      case 'Trade': {
        knownMarket(event.marketId, event.eventSeq);
        trades.push({
          tradeId: event.tradeId,
          marketId: event.marketId,
          eventSeq: event.eventSeq,
          priceTicks: event.priceTicks,
          quantityLots: event.quantityLots,
          baseUnits: event.baseUnits,
          quoteUnits: event.quoteUnits,
          takerSide: event.takerSide,
          timeMs: event.timeMs,
        });
        candleTrades.push({
          marketId: event.marketId,
          timeMs: event.timeMs,
          priceTicks: event.priceTicks,
          baseUnits: event.baseUnits,
          quoteUnits: event.quoteUnits,
        });
        lastPrices.set(event.marketId, event.priceTicks);
        break;
      }
      default:
        // Balances, order lifecycle and funds belong to other read models.
        break;
    }
  }
  return {
    lastEventSeq,
    assets,
    markets,
    statuses,
    levels: [...levels.values()],
    firstBookSeqs,
    bookSeqs,
    trades,
    candles: aggregateCandles(candleTrades),
    lastPrices,
    catalog: next,
  };
}
