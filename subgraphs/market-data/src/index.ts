/**
 * Market-data subgraph: markets and assets (reference data seeded on first start), served with
 * mercurius + @mercuriusjs/federation. Order books, trades, tickers and candles arrive with the
 * matching core's events in later issues.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  loadConfig,
  openDatabase,
  subgraphPort,
  type Database,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { referenceAssets, referenceMarkets, type AssetSpec, type MarketSpec } from '@graphex/schema';
import type { SubgraphContext } from './context.ts';
import { startMercuriusSubgraph } from './http/mercurius-subgraph.ts';
import { resolvers } from './resolvers/index.ts';
import { ReferenceDataView, seedReferenceData } from './store/reference-data.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Directory of this subgraph's SQL migrations. */
export const marketDataMigrationsDir = path.join(packageDir, 'src', 'migrations');
/** The SDL this subgraph serves and the gateway composes. */
export const marketDataSdl = readFileSync(path.join(packageDir, 'schema.graphql'), 'utf8');
/** Postgres schema of this service (also the PGlite schema). */
export const marketDataSchemaName = 'market_data';

export interface MarketDataServiceOptions {
  readonly config: PlatformConfig;
  /** An opened, migrated database; the service seeds it. The caller closes it after `close()`. */
  readonly db: Database;
  readonly port: number;
  readonly logger: Logger;
  /** Reference data to seed on first start (defaults to CONTRACT.md's). */
  readonly assets?: readonly AssetSpec[];
  readonly markets?: readonly MarketSpec[];
}

/** Seeds the reference data (first start only) and serves the subgraph. */
export async function createMarketDataService(options: MarketDataServiceOptions): Promise<RunningService> {
  const { db, logger } = options;
  const seed = await seedReferenceData(
    db,
    options.assets ?? referenceAssets,
    options.markets ?? referenceMarkets,
  );
  if (seed.seeded) logger.info('reference data seeded', { assets: seed.assets, markets: seed.markets });
  return startMercuriusSubgraph<SubgraphContext>({
    name: 'market-data',
    sdl: marketDataSdl,
    resolvers,
    port: options.port,
    config: options.config,
    logger,
    createContext: (base) => ({ ...base, referenceData: new ReferenceDataView(db) }),
    isReady: async () => {
      await db.query('SELECT 1');
      return true;
    },
  });
}

export interface MarketDataOverrides {
  readonly port?: number;
  readonly logger?: Logger;
  /** Postgres schema to use instead of `market_data` (tests isolate themselves with it). */
  readonly schema?: string;
}

/** Starts market-data from configuration: database under DATA_DIR/market-data or DATABASE_URL. */
export async function startMarketData(
  config: PlatformConfig = loadConfig(),
  overrides: MarketDataOverrides = {},
): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger('market-data', config.logLevel);
  const db = await openDatabase({
    schema: overrides.schema ?? marketDataSchemaName,
    databaseUrl: config.databaseUrl,
    dataDir: path.join(config.dataDir, 'market-data'),
    migrationsDir: marketDataMigrationsDir,
  });
  try {
    const service = await createMarketDataService({
      config,
      db,
      port: overrides.port ?? subgraphPort('market-data'),
      logger,
    });
    return { ...service, close: () => service.close().finally(() => db.close()) };
  } catch (error) {
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
