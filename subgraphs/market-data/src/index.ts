/**
 * Market-data subgraph (mercurius + @mercuriusjs/federation): markets and assets (reference data
 * seeded on first start, reconciled with the core's MarketAdded/AssetAdded), order books, trades,
 * tickers and candles projected from the matching core's events, and their subscriptions over
 * graphql-ws, fanned out across instances through the bus.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  loadConfig,
  openBus,
  openDatabase,
  subgraphPort,
  type Bus,
  type Database,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import {
  referenceAssets,
  referenceMarkets,
  type AssetSpec,
  type CoreClient,
  type MarketSpec,
} from '@graphex/schema';
import type { MarketFeeds, SubgraphContext } from './context.ts';
import type { TickerView, TradeView } from './domain/views.ts';
import { BookFeedHub, type BookFeedLimits } from './feeds/book-feed.ts';
import { createBatchPublisher, startTickerClock } from './feeds/publisher.ts';
import { StreamFeedHub } from './feeds/stream-feed.ts';
import { decodeTicker, decodeTrades } from './feeds/topics.ts';
import { startMercuriusSubgraph } from './http/mercurius-subgraph.ts';
import type { SubscriptionServerLimits } from './http/subscription-server.ts';
import { MarketProjection } from './projections/market-projection.ts';
import { resolvers, subscriptionResolvers } from './resolvers/index.ts';
import { MarketDataReader } from './store/market-data-reader.ts';
import { ReferenceDataView, seedReferenceData } from './store/reference-data.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Directory of this subgraph's SQL migrations. */
export const marketDataMigrationsDir = path.join(packageDir, 'src', 'migrations');
/** The SDL this subgraph serves and the gateway composes. */
export const marketDataSdl = readFileSync(path.join(packageDir, 'schema.graphql'), 'utf8');
/** Postgres schema of this service (also the PGlite schema). */
export const marketDataSchemaName = 'market_data';

export interface MarketDataLimits {
  readonly books?: Partial<BookFeedLimits>;
  /** Trades queued per `trades` subscriber before it is ended as a slow consumer. */
  readonly maxQueuedTradesPerSubscriber?: number;
  readonly subscriptions?: Partial<SubscriptionServerLimits>;
}

/**
 * How long the projection waits after a batch before taking the next. Each delivered change is
 * still its own DELTA with its own sequence; at low rates they reach subscribers up to this much
 * later, in groups, for about half the projection's work at 100 book changes a second (a
 * transaction, its statements, the publications and the core's ack are per batch).
 */
export const marketDataProjectionLingerMs = 20;

export interface MarketDataServiceOptions {
  readonly config: PlatformConfig;
  /** An opened, migrated database; the service seeds it. The caller closes it after `close()`. */
  readonly db: Database;
  readonly port: number;
  readonly logger: Logger;
  /** The matching core; the caller closes it after `close()`. */
  readonly coreClient: CoreClient;
  /** The pub/sub bus (defaults to `openBus(config.redisUrl)`, closed with the service). */
  readonly bus?: Bus;
  /** Reference data to seed on first start (defaults to CONTRACT.md's). */
  readonly assets?: readonly AssetSpec[];
  readonly markets?: readonly MarketSpec[];
  readonly limits?: MarketDataLimits;
  /** The projection's linger (`MarketProjectionOptions.lingerMs`); `marketDataProjectionLingerMs` by default. */
  readonly projectionLingerMs?: number;
  /** Clock of the rolling ticker window (tests). */
  readonly now?: () => number;
}

export interface MarketDataService extends RunningService {
  readonly projection: MarketProjection;
  readonly reader: MarketDataReader;
  readonly feeds: MarketFeeds;
}

/**
 * Seeds the reference data (first start only), loads the projection, follows the core and serves
 * the subgraph. `/health` answers 200 only once the projection reached the core's last event as
 * of start-up.
 */
export async function createMarketDataService(options: MarketDataServiceOptions): Promise<MarketDataService> {
  const { db, logger } = options;
  const seed = await seedReferenceData(
    db,
    options.assets ?? referenceAssets,
    options.markets ?? referenceMarkets,
  );
  if (seed.seeded) logger.info('reference data seeded', { assets: seed.assets, markets: seed.markets });
  const ownBus = options.bus === undefined;
  const bus =
    options.bus ??
    (await openBus(options.config.redisUrl, (error, topic) =>
      logger.warn('bus handler failed', { error, topic }),
    ));
  const projection = await MarketProjection.open({
    db,
    logger,
    lingerMs: options.projectionLingerMs ?? marketDataProjectionLingerMs,
  });
  const reader = new MarketDataReader(db, projection, options.now);
  const feeds: MarketFeeds = {
    books: new BookFeedHub(bus, projection, logger, options.limits?.books),
    trades: new StreamFeedHub<TradeView>({
      bus,
      logger,
      decode: decodeTrades,
      maxQueuedPerSubscriber: options.limits?.maxQueuedTradesPerSubscriber ?? 10_000,
      overflow: 'fail',
    }),
    tickers: new StreamFeedHub<TickerView>({
      bus,
      logger,
      decode: (message) => {
        const ticker = decodeTicker(message);
        return ticker ? [ticker] : null;
      },
      maxQueuedPerSubscriber: 1,
      overflow: 'latest',
    }),
  };
  projection.onCommitted(createBatchPublisher(bus, reader, logger));
  const tickerClock = startTickerClock(bus, reader, logger, options.now);
  const closeFeeds = async (): Promise<void> => {
    tickerClock.stop();
    await projection.close();
    await Promise.all([feeds.books.close(), feeds.trades.close(), feeds.tickers.close()]);
    if (ownBus) await bus.close();
  };
  try {
    await projection.start(options.coreClient);
    const service = await startMercuriusSubgraph<SubgraphContext>({
      name: 'market-data',
      sdl: marketDataSdl,
      resolvers,
      port: options.port,
      config: options.config,
      logger,
      createContext: (base) => ({
        ...base,
        referenceData: new ReferenceDataView(db),
        marketData: reader,
        feeds,
      }),
      isReady: async () => {
        if (!projection.caughtUp) return false;
        await db.query('SELECT 1');
        return true;
      },
      onClose: closeFeeds,
      subscriptions: {
        resolvers: subscriptionResolvers,
        ...(options.limits?.subscriptions ? { limits: options.limits.subscriptions } : {}),
      },
    });
    void projection
      .whenCaughtUp()
      .then(() => logger.info('projection caught up', { position: projection.position }));
    return { ...service, projection, reader, feeds };
  } catch (error) {
    await closeFeeds().catch(() => undefined);
    throw error;
  }
}

export interface MarketDataOverrides {
  readonly port?: number;
  readonly logger?: Logger;
  /** Postgres schema to use instead of `market_data` (tests isolate themselves with it). */
  readonly schema?: string;
  /** The matching core (embedded start, tests); else the remote core at MATCHING_CORE_URL. */
  readonly coreClient?: CoreClient;
  readonly bus?: Bus;
  readonly limits?: MarketDataLimits;
}

/** The remote core service client (MATCHING_CORE_URL, or the core service's default port). */
async function connectRemoteCore(config: PlatformConfig, logger: Logger): Promise<CoreClient> {
  const { connectConfiguredCore } = await import('@graphex/matching-core');
  return connectConfiguredCore('market-data', { internalTokenSecret: config.internalTokenSecret, logger });
}

/**
 * Starts market-data from configuration: database under DATA_DIR/market-data or DATABASE_URL
 * (migrated before the projection loads), the injected core or MATCHING_CORE_URL, the bus from
 * REDIS_URL (in-memory without it).
 */
export async function startMarketData(
  config: PlatformConfig = loadConfig(),
  overrides: MarketDataOverrides = {},
): Promise<MarketDataService> {
  const logger = overrides.logger ?? createLogger('market-data', config.logLevel);
  const db = await openDatabase({
    schema: overrides.schema ?? marketDataSchemaName,
    databaseUrl: config.databaseUrl,
    dataDir: path.join(config.dataDir, 'market-data'),
    migrationsDir: marketDataMigrationsDir,
  });
  let ownCore: CoreClient | undefined;
  try {
    const coreClient = overrides.coreClient ?? (ownCore = await connectRemoteCore(config, logger));
    const service = await createMarketDataService({
      config,
      db,
      port: overrides.port ?? subgraphPort('market-data'),
      logger,
      coreClient,
      ...(overrides.bus ? { bus: overrides.bus } : {}),
      ...(overrides.limits ? { limits: overrides.limits } : {}),
    });
    return {
      ...service,
      close: () =>
        service
          .close()
          .finally(() => ownCore?.close())
          .finally(() => db.close()),
    };
  } catch (error) {
    await ownCore?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}

export {
  seedReferenceData,
  setMarketFees,
  setMarketStatus,
  listMarkets,
  listAssets,
} from './store/reference-data.ts';
export type { Market, Asset, MarketStatus } from './domain/market.ts';
export type { OrderBookEventView, OrderBookView, TickerView, TradeView, CandleView } from './domain/views.ts';
export { MarketProjection, type CommittedBatch } from './projections/market-projection.ts';
export { MarketDataReader, readLimits } from './store/market-data-reader.ts';
export { BookFeedHub, type BookFeedLimits, type BookFeedStats } from './feeds/book-feed.ts';
export { applyDelta } from './domain/book-window.ts';
