import { DateTimeScalar, DecimalScalar } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Resolvers, SubscriptionResolvers } from '../__generated__/resolvers-types.ts';
import { isPlausibleMarketSymbol } from '../domain/market.ts';
import { tickerTopic, tradesTopic } from '../feeds/topics.ts';
import { boundedCount, readLimits } from '../store/market-data-reader.ts';

/**
 * Resolvers in the Apollo convention (`__resolveReference(reference, context, info)`, what the
 * generated types describe); `toMercuriusResolvers` adapts them to mercurius at the edge.
 * Market data is public: no identity check beyond the gateway signature verified per request
 * (HTTP) or per connection (graphql-ws).
 */
export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  Query: {
    markets: (_parent, _args, { referenceData }) => referenceData.markets(),
    // An implausible symbol can never name a market: null without a query (CONTRACT: unknown → null).
    market: (_parent, { symbol }, { referenceData }) =>
      isPlausibleMarketSymbol(symbol) ? referenceData.market(symbol) : null,
    assets: (_parent, _args, { referenceData }) => referenceData.assets(),
    tickers: (_parent, _args, { marketData }) => marketData.tickers(),
    orderBook: (_parent, { symbol, depth }, { marketData }) => marketData.orderBook(symbol, depth),
    trades: (_parent, { symbol, limit }, { marketData }) => marketData.trades(symbol, limit),
    candles: (_parent, { symbol, interval, limit }, { marketData }) =>
      marketData.candles(symbol, interval, limit),
  },
  Market: {
    __resolveReference: (reference, { referenceData }) => referenceData.market(reference.symbol),
  },
  Asset: {
    __resolveReference: (reference, { referenceData }) => referenceData.asset(reference.symbol),
  },
};

/** A market the core trades, or MARKET_NOT_FOUND (a stream needs the core's market). */
async function streamedMarket(
  symbol: string,
  marketData: { market(symbol: string): Promise<{ marketId: number } | null> },
): Promise<void> {
  const market = await marketData.market(symbol);
  if (!market) throw apiError('MARKET_NOT_FOUND', `Market ${symbol} has no live data yet.`);
}

/**
 * Subscription fields, served by the graphql-ws server (http/subscription-server.ts). Each
 * `subscribe` returns a bounded AsyncIterator from this instance's feeds; `resolve` passes the
 * event through.
 */
export const subscriptionResolvers: Required<SubscriptionResolvers> = {
  orderBook: {
    subscribe: async (_parent, { symbol, depth }, { marketData, feeds }) => {
      boundedCount('depth', depth, readLimits.bookDepthMax);
      const market = await marketData.market(symbol);
      if (!market) throw apiError('MARKET_NOT_FOUND', `Market ${symbol} has no live data yet.`);
      return feeds.books.subscribe(market, depth);
    },
    resolve: (event: unknown) => event as never,
  },
  trades: {
    subscribe: async (_parent, { symbol }, { marketData, feeds }) => {
      await streamedMarket(symbol, marketData);
      return feeds.trades.subscribe(tradesTopic(symbol));
    },
    resolve: (trade: unknown) => trade as never,
  },
  ticker: {
    subscribe: async (_parent, { symbol }, { marketData, feeds }) => {
      await streamedMarket(symbol, marketData);
      return feeds.tickers.subscribe(tickerTopic(symbol), async () => [await marketData.ticker(symbol)]);
    },
    resolve: (ticker: unknown) => ticker as never,
  },
};
