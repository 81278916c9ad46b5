/**
 * Wallets subgraph: deposit addresses derived from the exchange's BIP-44 xpub, and the
 * deposit/withdrawal history (`User.transactions`). Chain watching, confirmations and withdrawals
 * arrive in issue 6 and record transactions through `recordTransaction`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import {
  createLogger,
  loadConfig,
  openDatabase,
  startSubgraphService,
  subgraphPort,
  type Database,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { loadDepositKeyring, type DepositKeyring } from './chain/deposit-keys.ts';
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
  /** Environment to read ETH_DEPOSIT_XPUB from (defaults to process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Starts wallets from configuration: database and development wallet under DATA_DIR/wallets or DATABASE_URL. */
export async function startWallets(
  config: PlatformConfig = loadConfig(),
  overrides: WalletsOverrides = {},
): Promise<RunningService> {
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
  try {
    const service = await createWalletsService({
      config,
      db,
      depositKeyring,
      port: overrides.port ?? subgraphPort('wallets'),
      logger,
    });
    return { ...service, close: () => service.close().finally(() => db.close()) };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

export { keyringFromXpub, loadDepositKeyring, accountPath } from './chain/deposit-keys.ts';
export type { DepositKeyring } from './chain/deposit-keys.ts';
export { recordTransaction, depositAddressFor } from './store/wallets.ts';
export type { NewTransaction } from './store/wallets.ts';
export type { TransactionRecord, DepositAddress } from './domain/transaction.ts';
