/** The ticker clock ages the 24 h window out without trades (events from the real core). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBus } from '@graphex/runtime';
import { openTestDatabase, testLogger, type TestDatabase } from '@graphex/runtime/testing';
import { referenceAssets, referenceMarkets } from '@graphex/schema';
import type { TickerView } from '../domain/views.ts';
import { marketDataMigrationsDir, marketDataSchemaName } from '../index.ts';
import { MarketProjection } from '../projections/market-projection.ts';
import { MarketDataReader } from '../store/market-data-reader.ts';
import { seedReferenceData } from '../store/reference-data.ts';
import { allEvents, startTestCore, tradeScenario, type TestCore } from '../test-fixtures.ts';
import { startTickerClock } from './publisher.ts';
import { tickerTopic } from './topics.ts';

describe('ticker clock', () => {
  let core: TestCore;
  let test: TestDatabase;

  beforeAll(async () => {
    core = await startTestCore();
    await tradeScenario(core.core, ['maker-clock-1', 'taker-clock-2']);
    test = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
  });

  afterAll(async () => {
    await test?.dispose();
    await core?.dispose();
  });

  it('publishes a ticker whose window aged out, and nothing while nothing changed', async () => {
    await seedReferenceData(test.db, referenceAssets, referenceMarkets);
    const projection = await MarketProjection.open({ db: test.db, logger: testLogger });
    await projection.start(core.core);
    await projection.whenCaughtUp();
    const events = await allEvents(core.core);
    const lastTradeMs = Math.max(...events.filter((e) => e.type === 'Trade').map((e) => e.timeMs));
    let nowMs = lastTradeMs + 1_000;
    const reader = new MarketDataReader(test.db, projection, () => nowMs);
    const bus = createMemoryBus();
    const published: TickerView[] = [];
    await bus.subscribe(tickerTopic('BTC-USDT'), (message) =>
      published.push(JSON.parse(message) as TickerView),
    );
    const clock = startTickerClock(bus, reader, testLogger, () => nowMs);
    try {
      await clock.tick(); // learns the current tickers
      await clock.tick();
      expect(published).toEqual([]);
      nowMs = lastTradeMs + 24 * 3_600_000 + 120_000; // every trade is now older than 24 h
      await clock.tick();
      expect(published).toEqual([
        {
          symbol: 'BTC-USDT',
          last: '29989',
          bestBid: '29989',
          bestAsk: '30001',
          open24h: null,
          high24h: null,
          low24h: null,
          volume24h: '0',
        },
      ]);
    } finally {
      clock.stop();
      await projection.close();
      await bus.close();
    }
  });
});
