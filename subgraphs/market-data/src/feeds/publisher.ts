/**
 * Publishes what the projection committed to the bus, for the subscription feeds of every
 * instance: book events (integers, in bookSeq order), trades and tickers. Delivery is at-most-once;
 * book feeds detect gaps by sequence and resynchronise, so a lost message costs a SNAPSHOT.
 * While the projection is still catching up with the log at start (a rebuild replays history),
 * only book events are published: old trades are not news, and a ticker per replayed batch would
 * slow the replay down.
 */
import type { Bus, Logger } from '@graphex/runtime';
import { priceDecimal, baseUnitsDecimal } from '../domain/scale.ts';
import type { TradeView } from '../domain/views.ts';
import type { MarketDataReader } from '../store/market-data-reader.ts';
import type { CommittedBatch } from '../projections/market-projection.ts';
import {
  bookChangesPerMessage,
  bookTopic,
  encodeTrades,
  tickerTopic,
  tradesPerMessage,
  tradesTopic,
} from './topics.ts';

export function createBatchPublisher(
  bus: Bus,
  reader: MarketDataReader,
  logger: Logger,
): (batch: CommittedBatch) => Promise<void> {
  const projection = reader.projection;
  return async (batch) => {
    const messages: Array<{ topic: string; message: string }> = [];
    for (const [marketId, changes] of batch.bookChanges) {
      const market = projection.marketById(marketId);
      if (!market) continue;
      for (let i = 0; i < changes.length; i += bookChangesPerMessage)
        messages.push({
          topic: bookTopic(market.symbol),
          message: JSON.stringify({ changes: changes.slice(i, i + bookChangesPerMessage) }),
        });
    }
    const live = projection.caughtUp;
    const tradesBySymbol = new Map<string, TradeView[]>();
    for (const trade of live ? batch.trades : []) {
      const market = projection.marketById(trade.marketId);
      if (!market) continue;
      let list = tradesBySymbol.get(market.symbol);
      if (!list) tradesBySymbol.set(market.symbol, (list = []));
      list.push({
        id: String(trade.tradeId),
        symbol: market.symbol,
        price: priceDecimal(market.scale, trade.priceTicks),
        quantity: baseUnitsDecimal(market.scale, trade.baseUnits),
        takerSide: trade.takerSide,
        createdAt: new Date(trade.timeMs),
      });
    }
    for (const [symbol, trades] of tradesBySymbol) {
      for (let i = 0; i < trades.length; i += tradesPerMessage)
        messages.push({
          topic: tradesTopic(symbol),
          message: encodeTrades(trades.slice(i, i + tradesPerMessage)),
        });
    }
    // Books and trades first: a ticker needs a query, and must not delay the book stream.
    const published = messages.map(({ topic, message }) => bus.publish(topic, message));
    try {
      for (const marketId of live ? batch.tickerMarkets : []) {
        const market = projection.marketById(marketId);
        if (!market) continue;
        const ticker = await reader.tickerOf(market);
        published.push(bus.publish(tickerTopic(market.symbol), JSON.stringify(ticker)));
      }
    } catch (error) {
      logger.warn('ticker not published', { error });
    }
    // Redis keeps one connection's order, so each topic stays in publish order.
    const results = await Promise.allSettled(published);
    const failed = results.filter((result) => result.status === 'rejected');
    if (failed.length > 0)
      logger.warn('bus publish failed', {
        failed: failed.length,
        error: (failed[0] as PromiseRejectedResult).reason,
      });
  };
}

/**
 * The rolling 24 h window moves with the clock: once a minute (just after the minute turns) every
 * market's ticker is recomputed and published when it differs from what this clock last saw, so
 * `ticker` subscribers see open/high/low/volume age out without a trade. Every instance runs a
 * clock; a repeated equal ticker is harmless to a conflated stream.
 */
export function startTickerClock(
  bus: Bus,
  reader: MarketDataReader,
  logger: Logger,
  now: () => number = Date.now,
): { tick(): Promise<void>; stop(): void } {
  const lastSeen = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    const delayMs = 60_000 - (now() % 60_000) + 50;
    timer = setTimeout(() => void tick().finally(schedule), delayMs);
    timer.unref();
  };
  const tick = async (): Promise<void> => {
    if (!reader.projection.caughtUp) return;
    try {
      const tickers = await reader.tickers();
      await Promise.all(
        tickers.map(async (ticker) => {
          const message = JSON.stringify(ticker);
          const previous = lastSeen.get(ticker.symbol);
          lastSeen.set(ticker.symbol, message);
          // The first pass only learns the current values (batches publish what trades change).
          if (previous !== undefined && previous !== message)
            await bus.publish(tickerTopic(ticker.symbol), message);
        }),
      );
    } catch (error) {
      logger.warn('ticker clock failed', { error });
    }
  };
  schedule();
  return {
    /** One pass now (tests; the timer runs it every minute). */
    tick,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
