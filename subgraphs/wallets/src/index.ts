/**
 * Wallets subgraph: deposit addresses derived from the exchange's BIP-44 xpub, the
 * deposit/withdrawal history (`User.transactions`, each with its `statusHistory`), and the chain
 * watcher (src/chain/watcher.ts) that records on-chain deposits and credits them in the matching
 * core after ETH_MIN_CONFIRMATIONS, exactly once per (tx hash, log index).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import {
  createLogger,
  loadConfig,
  matchingCoreUrl,
  openDatabase,
  startSubgraphService,
  subgraphPort,
  type Database,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { JsonRpcProvider } from 'ethers';
import type { CoreClient } from '@graphex/schema';
import { loadDepositKeyring, type DepositKeyring } from './chain/deposit-keys.ts';
import { ChainWatcher, chainWatcherConfigFromEnv } from './chain/watcher.ts';
import type { SubgraphContext } from './context.ts';
import { resolvers } from './resolvers/index.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const walletsMigrationsDir = path.join(packageDir, 'src', 'migrations');
export const walletsSdl = readFileSync(path.join(packageDir, 'schema.graphql'), 'utf8');
export const walletsSchemaName = 'wallets';

export interface WalletsServiceOptions {
  readonly config: PlatformConfig;
  /** An opened, migrated database; the caller closes it after `close()`. */
  readonly db: Database;
  readonly depositKeyring: DepositKeyring;
  readonly port: number;
  readonly logger: Logger;
}

export async function createWalletsService(options: WalletsServiceOptions): Promise<RunningService> {
  const { db, depositKeyring } = options;
  return startSubgraphService<SubgraphContext>({
    name: 'wallets',
    schema: buildSubgraphSchema([
      { typeDefs: parse(walletsSdl), resolvers: resolvers as GraphQLResolverMap<unknown> },
    ]),
    port: options.port,
    config: options.config,
    logger: options.logger,
    createContext: (base) => ({ ...base, db, depositKeyring }),
    isReady: async () => {
      await db.query('SELECT 1');
      return true;
    },
  });
}

export interface WalletsOverrides {
  readonly port?: number;
  readonly logger?: Logger;
  /** Postgres schema to use instead of `wallets` (tests isolate themselves with it). */
  readonly schema?: string;
  /**
   * Environment to read ETH_DEPOSIT_XPUB and the chain watcher's settings from (ETH_RPC_URL,
   * ETH_MIN_CONFIRMATIONS, USDT_TOKEN_ADDRESS, ETH_POLL_INTERVAL_MS, ETH_START_BLOCK; defaults to
   * process.env).
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The core to credit deposits in, instead of connecting to MATCHING_CORE_URL (the caller closes it). */
  readonly coreClient?: CoreClient;
}

export interface WalletsService extends RunningService {
  /** The chain watcher, when ETH_RPC_URL is set. */
  readonly chainWatcher: ChainWatcher | null;
}

/** Starts wallets from configuration: database and development wallet under DATA_DIR/wallets or DATABASE_URL. */
export async function startWallets(
  config: PlatformConfig = loadConfig(),
  overrides: WalletsOverrides = {},
): Promise<WalletsService> {
  const logger = overrides.logger ?? createLogger('wallets', config.logLevel);
  const env = overrides.env ?? process.env;
  const dataDir = path.join(config.dataDir, 'wallets');
  const depositKeyring = await loadDepositKeyring({
    xpub: env['ETH_DEPOSIT_XPUB'] || undefined,
    dataDir,
    production: config.production,
    logger,
  });
  const db = await openDatabase({
    schema: overrides.schema ?? walletsSchemaName,
    databaseUrl: config.databaseUrl,
    dataDir,
    migrationsDir: walletsMigrationsDir,
  });
  const closers: Array<() => Promise<void>> = [() => db.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    let chainWatcher: ChainWatcher | null = null;
    const watcherConfig = chainWatcherConfigFromEnv(env);
    if (!watcherConfig) {
      logger.info('ETH_RPC_URL is unset: the chain watcher is disabled (no deposits are credited)');
    } else {
      let core = overrides.coreClient;
      if (!core) {
        const { connectCoreClient } = await import('@graphex/matching-core');
        const remote = connectCoreClient({
          url: matchingCoreUrl(),
          internalTokenSecret: config.internalTokenSecret,
          serviceName: 'wallets',
          onConnectionError: (error) =>
            logger.warn('matching core connection failed', { error: error.message }),
        });
        closers.push(() => remote.close());
        core = remote;
      }
      const provider = new JsonRpcProvider(watcherConfig.rpcUrl, undefined, {
        cacheTimeout: -1,
        polling: false,
      });
      closers.push(async () => provider.destroy());
      chainWatcher = new ChainWatcher({ db, core, provider, config: watcherConfig, logger });
      const watcher = chainWatcher;
      closers.push(() => watcher.stop());
      logger.info('chain watcher started', {
        minConfirmations: watcherConfig.minConfirmations,
        usdtTokenAddress: watcherConfig.usdtTokenAddress,
      });
    }
    const service = await createWalletsService({
      config,
      db,
      depositKeyring,
      port: overrides.port ?? subgraphPort('wallets'),
      logger,
    });
    chainWatcher?.start();
    return { ...service, chainWatcher, close: () => service.close().finally(closeAll) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export { keyringFromXpub, loadDepositKeyring, accountPath } from './chain/deposit-keys.ts';
export type { DepositKeyring } from './chain/deposit-keys.ts';
export { recordTransaction, depositAddressFor } from './store/wallets.ts';
export type { NewTransaction } from './store/wallets.ts';
export type { TransactionRecord, DepositAddress } from './domain/transaction.ts';
export { ChainWatcher, chainWatcherConfigFromEnv, scanCoreEvents } from './chain/watcher.ts';
export type { ChainWatcherConfig, PollReport } from './chain/watcher.ts';
export { depositTransactionId, confirmationsAt } from './domain/deposit.ts';
export type { DepositStatus } from './domain/deposit.ts';
export { listChainDeposits, statusHistoryOf } from './store/chain.ts';
export type { ChainDepositRow, StatusChange } from './store/chain.ts';
