/**
 * The read side behind the Query fields: books from the projection's in-memory copy (equal to the
 * persisted one at `position`), trades, candles and 24 h figures from the tables. Every size
 * argument is bounded; refusals carry registry codes.
 */
import type { Database } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { isCandleInterval, candleIntervals } from '../domain/candles.ts';
import { isPlausibleMarketSymbol } from '../domain/market.ts';
import { priceDecimal, baseUnitsDecimal } from '../domain/scale.ts';
import {
  levelViews,
  type CandleView,
  type OrderBookView,
  type TickerView,
  type TradeView,
} from '../domain/views.ts';
import type { MarketEntry } from '../projections/batch-plan.ts';
import type { MarketProjection } from '../projections/market-projection.ts';
import { latestCandles, recentTrades, windowStats, type WindowStats } from './market-feed-store.ts';

export const readLimits = {
  bookDepthMax: 500,
  tradesMax: 1_000,
  candlesMax: 1_000,
} as const;

/** An integer argument within [1, max], or BAD_USER_INPUT. */
export function boundedCount(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw apiError('BAD_USER_INPUT', `${name} must be an integer from 1 to ${max}.`, { argument: name });
  return value;
}

export class MarketDataReader {
  readonly #db: Database;
  readonly #projection: MarketProjection;
  readonly #now: () => number;

  constructor(db: Database, projection: MarketProjection, now: () => number = Date.now) {
    this.#db = db;
    this.#projection = projection;
    this.#now = now;
  }

  get projection(): MarketProjection {
    return this.#projection;
  }

  /**
   * The market the core trades under `symbol`, null for a seeded market the core does not know
   * (yet), MARKET_NOT_FOUND otherwise.
   */
  async market(symbol: string): Promise<MarketEntry | null> {
    const market = this.#projection.market(symbol);
    if (market) return market;
    if (isPlausibleMarketSymbol(symbol)) {
      const seeded = await this.#db.query('SELECT 1 FROM markets WHERE symbol = $1', [symbol]);
      if (seeded.rows.length > 0) return null;
    }
    throw apiError('MARKET_NOT_FOUND', `No market ${symbol}.`);
  }

  async orderBook(symbol: string, depth: number): Promise<OrderBookView> {
    boundedCount('depth', depth, readLimits.bookDepthMax);
    const market = await this.market(symbol);
    const book = market ? this.#projection.book(market.marketId) : undefined;
    if (!market || !book) return { symbol, sequence: '0', bids: [], asks: [] };
    const snapshot = book.snapshot(depth);
    return {
      symbol,
      sequence: String(snapshot.bookSeq),
      bids: levelViews(market.scale, snapshot.bids),
      asks: levelViews(market.scale, snapshot.asks),
    };
  }

  async trades(symbol: string, limit: number): Promise<TradeView[]> {
    boundedCount('limit', limit, readLimits.tradesMax);
    const market = await this.market(symbol);
    return market ? recentTrades(this.#db, market, limit) : [];
  }

  async candles(symbol: string, interval: string, limit: number): Promise<CandleView[]> {
    if (!isCandleInterval(interval))
      throw apiError('BAD_USER_INPUT', `interval must be one of ${candleIntervals.join(', ')}.`, {
        argument: 'interval',
      });
    boundedCount('limit', limit, readLimits.candlesMax);
    const market = await this.market(symbol);
    return market ? latestCandles(this.#db, market, interval, limit) : [];
  }

  /** Every market's ticker, ordered by symbol. */
  async tickers(): Promise<TickerView[]> {
    const symbols = await this.#db.query<{ symbol: string }>('SELECT symbol FROM markets ORDER BY symbol');
    const stats = await windowStats(this.#db, this.#now());
    return symbols.rows.map((row) => {
      const market = this.#projection.market(row.symbol);
      return market ? this.#tickerOf(market, stats.get(market.marketId)) : emptyTicker(row.symbol);
    });
  }

  async ticker(symbol: string): Promise<TickerView> {
    const market = await this.market(symbol);
    return market ? this.tickerOf(market) : emptyTicker(symbol);
  }

  async tickerOf(market: MarketEntry): Promise<TickerView> {
    const stats = await windowStats(this.#db, this.#now(), market.marketId);
    return this.#tickerOf(market, stats.get(market.marketId));
  }

  #tickerOf(market: MarketEntry, stats: WindowStats | undefined): TickerView {
    const book = this.#projection.book(market.marketId);
    const last = this.#projection.lastPriceTicks(market.marketId);
    const bestBid = book?.best('BUY');
    const bestAsk = book?.best('SELL');
    const price = (ticks: number | bigint | undefined): string | null =>
      ticks === undefined ? null : priceDecimal(market.scale, ticks);
    return {
      symbol: market.symbol,
      last: price(last),
      bestBid: price(bestBid?.priceTicks),
      bestAsk: price(bestAsk?.priceTicks),
      open24h: price(stats?.openTicks),
      high24h: price(stats?.highTicks),
      low24h: price(stats?.lowTicks),
      volume24h: baseUnitsDecimal(market.scale, stats?.volumeBaseUnits ?? 0n),
    };
  }
}

function emptyTicker(symbol: string): TickerView {
  return {
    symbol,
    last: null,
    bestBid: null,
    bestAsk: null,
    open24h: null,
    high24h: null,
    low24h: null,
    volume24h: '0',
  };
}
