/**
 * Wallets subgraph: deposit addresses derived from the exchange's BIP-44 xpub, the
 * deposit/withdrawal history (`User.transactions`, each with its `statusHistory`), the chain
 * watcher (src/chain/watcher.ts) that records on-chain deposits and credits them in the matching
 * core after ETH_MIN_CONFIRMATIONS, exactly once per (tx hash, log index), withdrawals as a
 * persisted state machine (src/withdrawal-service.ts, src/chain/withdrawal-processor.ts) and the
 * custody report (GET /internal/custody, src/chain/custody.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ConfigError,
  createIdentityInternalClient,
  createLogger,
  headerValue,
  loadConfig,
  openDatabase,
  sendJson,
  serviceTokenHeader,
  startAuditRelay,
  startSubgraphService,
  subgraphPort,
  subgraphUrl,
  verifyServiceToken,
  type Database,
  type IdentityInternalClient,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { JsonRpcProvider } from 'ethers';
import type { CoreClient } from '@graphex/schema';
import { custodyReport, unavailableCustody, type CustodyReport } from './chain/custody.ts';
import { loadDepositKeyring, type DepositKeyring } from './chain/deposit-keys.ts';
import { loadHotWallet } from './chain/hot-wallet.ts';
import { ChainWatcher, chainWatcherConfigFromEnv, type ChainWatcherConfig } from './chain/watcher.ts';
import { amlConfigFromEnv } from './chain/withdrawal-core.ts';
import { WithdrawalProcessor, type WithdrawalProcessorConfig } from './chain/withdrawal-processor.ts';
import type { SubgraphContext } from './context.ts';
import { defaultMaxBroadcastAttempts, defaultMaxStepFailures } from './domain/withdrawal.ts';
import { resolvers } from './resolvers/index.ts';
import { createWithdrawalService, type WithdrawalService } from './withdrawal-service.ts';

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
  /** Withdrawal use cases (null: withdrawals answer SERVICE_UNAVAILABLE). */
  readonly withdrawals?: WithdrawalService | null;
  /** The custody report (null: answered as unavailable). */
  readonly custody?: (() => Promise<CustodyReport>) | null;
}

export const custodyPath = '/internal/custody';

/** GET /internal/custody: the custody report, for platform services (service token). */
function custodyRoute(
  config: PlatformConfig,
  custody: (() => Promise<CustodyReport>) | null,
  logger: Logger,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    if (request.method !== 'GET') return sendJson(response, 405, { error: 'GET only.' });
    const service = await verifyServiceToken(
      headerValue(request, serviceTokenHeader),
      config.internalTokenSecret,
    );
    if (!service) return sendJson(response, 401, { error: 'A platform service token is required.' });
    if (!custody)
      return sendJson(response, 200, unavailableCustody('ETH_RPC_URL is unset: no chain to read'));
    try {
      sendJson(response, 200, await custody());
    } catch (error) {
      logger.error('custody report failed', { error: (error as Error).message });
      sendJson(
        response,
        200,
        unavailableCustody(`the chain node could not be read: ${(error as Error).message.slice(0, 200)}`),
      );
    }
  };
}

export async function createWalletsService(options: WalletsServiceOptions): Promise<RunningService> {
  const { db, depositKeyring } = options;
  const withdrawals = options.withdrawals ?? null;
  return startSubgraphService<SubgraphContext>({
    name: 'wallets',
    schema: buildSubgraphSchema([
      { typeDefs: parse(walletsSdl), resolvers: resolvers as GraphQLResolverMap<unknown> },
    ]),
    port: options.port,
    config: options.config,
    logger: options.logger,
    createContext: (base) => ({ ...base, db, depositKeyring, withdrawals }),
    routes: { [custodyPath]: custodyRoute(options.config, options.custody ?? null, options.logger) },
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
  /** Identity's internal client (2FA, KYC policy), instead of one for `subgraphUrl('identity')`. */
  readonly identityClient?: IdentityInternalClient;
  /** Start the audit relay to identity (default true). */
  readonly auditRelay?: boolean;
}

export interface WalletsService extends RunningService {
  /** The chain watcher, when ETH_RPC_URL is set. */
  readonly chainWatcher: ChainWatcher | null;
  /** The withdrawal processor (signer, broadcaster, settler), when ETH_RPC_URL is set. */
  readonly withdrawalProcessor: WithdrawalProcessor | null;
}

/** The withdrawal processor's settings (it shares the watcher's confirmations, token and period). */
export function withdrawalProcessorConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  watcher: ChainWatcherConfig,
): WithdrawalProcessorConfig {
  const raw = env['WITHDRAWAL_MAX_BROADCAST_ATTEMPTS'];
  if (raw !== undefined && raw !== '' && !/^([1-9]|[1-9]\d)$/.test(raw)) {
    throw new ConfigError('WITHDRAWAL_MAX_BROADCAST_ATTEMPTS must be an integer in 1..99.');
  }
  const rawStepFailures = env['WITHDRAWAL_MAX_STEP_FAILURES'];
  if (
    rawStepFailures !== undefined &&
    rawStepFailures !== '' &&
    !/^([1-9]|[1-9]\d{1,2})$/.test(rawStepFailures)
  ) {
    throw new ConfigError('WITHDRAWAL_MAX_STEP_FAILURES must be an integer in 1..999.');
  }
  return {
    minConfirmations: watcher.minConfirmations,
    usdtTokenAddress: watcher.usdtTokenAddress,
    pollIntervalMs: watcher.pollIntervalMs,
    maxBroadcastAttempts: raw ? Number(raw) : defaultMaxBroadcastAttempts,
    intentGraceMs: watcher.leaseTtlMs,
    leaseTtlMs: watcher.leaseTtlMs,
    batchSize: 50,
    maxStepFailures: rawStepFailures ? Number(rawStepFailures) : defaultMaxStepFailures,
  };
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
    let withdrawalProcessor: WithdrawalProcessor | null = null;
    let withdrawals: WithdrawalService | null = null;
    let custody: (() => Promise<CustodyReport>) | null = null;
    const watcherConfig = chainWatcherConfigFromEnv(env);
    if (!watcherConfig) {
      logger.info('ETH_RPC_URL is unset: the chain watcher is disabled (no deposits are credited)');
    } else {
      let core = overrides.coreClient;
      if (!core) {
        const { connectConfiguredCore } = await import('@graphex/matching-core');
        const remote = connectConfiguredCore('wallets', {
          internalTokenSecret: config.internalTokenSecret,
          logger,
        });
        closers.push(() => remote.close());
        core = remote;
      }
      const provider = new JsonRpcProvider(watcherConfig.rpcUrl, undefined, {
        cacheTimeout: -1,
        polling: false,
      });
      closers.push(async () => provider.destroy());
      const hotWallet = await loadHotWallet({
        key: env['ETH_HOT_WALLET_KEY'] || undefined,
        dataDir,
        production: config.production,
        logger,
      });
      const aml = amlConfigFromEnv(env, dataDir);
      chainWatcher = new ChainWatcher({
        db,
        core,
        provider,
        config: watcherConfig,
        logger,
        hotWalletAddress: hotWallet.address,
      });
      const watcher = chainWatcher;
      closers.push(() => watcher.stop());
      withdrawalProcessor = new WithdrawalProcessor({
        db,
        core,
        provider,
        wallet: hotWallet,
        config: withdrawalProcessorConfigFromEnv(env, watcherConfig),
        aml,
        logger,
      });
      const processor = withdrawalProcessor;
      closers.push(() => processor.stop());
      withdrawals = createWithdrawalService({
        db,
        core,
        identity:
          overrides.identityClient ??
          createIdentityInternalClient({
            identityUrl: subgraphUrl('identity'),
            internalTokenSecret: config.internalTokenSecret,
            service: 'wallets',
          }),
        aml,
        hotWalletAddress: hotWallet.address,
        provider,
        minConfirmations: watcherConfig.minConfirmations,
        logger,
      });
      custody = () =>
        custodyReport({
          db,
          provider,
          hotWalletAddress: hotWallet.address,
          usdtTokenAddress: watcherConfig.usdtTokenAddress,
        });
      logger.info('chain watcher and withdrawal processor started', {
        minConfirmations: watcherConfig.minConfirmations,
        usdtTokenAddress: watcherConfig.usdtTokenAddress,
        hotWallet: hotWallet.address,
      });
    }
    if (overrides.auditRelay !== false) {
      const relay = startAuditRelay({
        db,
        source: 'wallets',
        identityUrl: subgraphUrl('identity'),
        internalTokenSecret: config.internalTokenSecret,
        logger,
      });
      closers.push(() => relay.stop());
    }
    const service = await createWalletsService({
      config,
      db,
      depositKeyring,
      port: overrides.port ?? subgraphPort('wallets'),
      logger,
      withdrawals,
      custody,
    });
    chainWatcher?.start();
    withdrawalProcessor?.start();
    return { ...service, chainWatcher, withdrawalProcessor, close: () => service.close().finally(closeAll) };
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
export { WithdrawalProcessor } from './chain/withdrawal-processor.ts';
export type { WithdrawalProcessorConfig, ProcessorPollReport } from './chain/withdrawal-processor.ts';
export { createWithdrawalService } from './withdrawal-service.ts';
export type { WithdrawalService, WithdrawalRequestInput } from './withdrawal-service.ts';
export { custodyReport } from './chain/custody.ts';
export type { CustodyReport, CustodyAsset } from './chain/custody.ts';
export { hotWalletFromKey, loadHotWallet } from './chain/hot-wallet.ts';
export { amlConfigFromEnv } from './chain/withdrawal-core.ts';
export type { WithdrawalStatus, AmlConfig, AmlFlag } from './domain/withdrawal.ts';
export type { DepositStatus } from './domain/deposit.ts';
export { listChainDeposits, statusHistoryOf } from './store/chain.ts';
export type { ChainDepositRow, StatusChange } from './store/chain.ts';
