/**
 * Ledger subgraph: the double-entry journal of every core event, balances derived from it,
 * reconciliation. Adds `User.accounts`, `Account.entries`, `ledgerReconciliation`,
 * `adminAdjustBalance`.
 *
 * - `createLedgerService(options)`: schema, context factory, use cases and the running journal
 *   projection over an open database and a CoreClient (no HTTP) — for embedding and tests.
 * - `startLedger(config, overrides?)`: opens the database, migrates, connects to the core
 *   (MATCHING_CORE_URL) unless a client is injected, projects the journal, relays audit events to
 *   identity and serves over HTTP.
 * - `verifyLedger(db)`: checks the stored journal's invariants and lists violations.
 * - `checkLedgerReconciliation(url, headers)`: the reconciliation over GraphQL, for e2e tests.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import type { CoreClient } from '@graphex/schema';
import {
  createLogger,
  openDatabase,
  startAuditRelay,
  startProjectionRunner,
  startSubgraphService,
  subgraphPort,
  subgraphUrl,
  type BaseRequestContext,
  type Database,
  type Logger,
  type PlatformConfig,
  type ProjectionRunner,
  type RunningService,
} from '@graphex/runtime';
import type { SubgraphContext } from './context.ts';
import { createLedgerOperations, type LedgerOperations } from './ledger-operations.ts';
import { resolvers } from './resolvers/index.ts';
import type { AssetCatalog } from './domain/core-catalog.ts';
import { loadAssets, projectionPosition } from './projections/core-balances.ts';
import { applyCoreEvents, maxEventsPerBatch, WrittenAccounts } from './projections/core-projection.ts';
import { createWalletsCustodySource, type CustodySource } from './custody-source.ts';

export type { SubgraphContext } from './context.ts';
export type { LedgerOperations } from './ledger-operations.ts';
export type { UserAccountBalance, LedgerAccountRef } from './domain/accounts.ts';
export type { JournalTransaction, JournalEntry, JournalKind } from './domain/journal.ts';
export { AssetCatalog } from './domain/core-catalog.ts';
export { accountsTouchedBy, journalCoreEvents, CoreJournalError } from './domain/core-journal.ts';
export type {
  LedgerReconciliationReport,
  AssetReconciliationReport,
  CustodyReport,
} from './domain/reconciliation.ts';
export { verifyLedger } from './projections/ledger-verifier.ts';
export { applyCoreEvents, CoreProjectionError, WrittenAccounts } from './projections/core-projection.ts';
export { readCoreAccounts } from './projections/core-balances.ts';
export { readUserAccounts } from './projections/journal-store.ts';
export {
  createWalletsCustodySource,
  parseCustodyAnswer,
  walletsCustodyPath,
  type CustodySource,
} from './custody-source.ts';
export {
  checkLedgerReconciliation,
  ledgerReconciliationQuery,
  type LedgerReconciliationResult,
} from './reconciliation-check.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ledgerSdlPath = path.join(packageDir, 'schema.graphql');
export const ledgerMigrationsDir = path.join(packageDir, 'src', 'migrations');
export const ledgerDatabaseSchema = 'ledger';

export interface LedgerServiceOptions {
  readonly db: Database;
  readonly core: CoreClient;
  readonly logger: Logger;
  /** What the chain holds for users (custody vs chain); absent = unknown. */
  readonly custody?: CustodySource;
  readonly clock?: () => Date;
  /** The journal projection's linger (`ProjectionRunnerOptions.lingerMs`); 0 by default. */
  readonly projectionLingerMs?: number;
}

/**
 * The running service's projection linger. Balances are the only read model the ledger serves
 * and a balance read waits for the projection to reach the core (`freshReadWaitMs`), so holding a
 * batch back costs no reader anything; at 100 book changes a second it applies a fifth of the
 * batches it would otherwise.
 */
export const ledgerProjectionLingerMs = 50;

export interface LedgerService {
  readonly schema: GraphQLSchema;
  readonly ledger: LedgerOperations;
  readonly projection: ProjectionRunner;
  readonly assets: AssetCatalog;
  createContext(base: BaseRequestContext): SubgraphContext;
  /** Stops the journal projection. */
  close(): Promise<void>;
}

/** Schema, use cases and the running journal projection over an open, migrated database. */
export async function createLedgerService(options: LedgerServiceOptions): Promise<LedgerService> {
  const { db, core, logger } = options;
  const assets = await loadAssets(db);
  const written = new WrittenAccounts();
  const projection = await startProjectionRunner({
    name: 'ledger',
    readModel: 'balance',
    core,
    logger,
    maxEventsPerBatch,
    readPosition: () => projectionPosition(db),
    apply: (events) => applyCoreEvents(db, assets, events, written),
    lingerMs: options.projectionLingerMs ?? 0,
  });
  const ledger = createLedgerOperations({
    db,
    core,
    assets,
    logger,
    projection,
    ...(options.custody ? { custody: options.custody } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(readFileSync(ledgerSdlPath, 'utf8')),
      resolvers: resolvers as GraphQLResolverMap<unknown>,
    },
  ]);
  return {
    schema,
    ledger,
    projection,
    assets,
    createContext: (base) => ({ ...base, ledger }),
    close: () => projection.close(),
  };
}

export interface LedgerOverrides {
  readonly port?: number;
  /** An open, migrated database to use instead of opening one (the caller closes it). */
  readonly db?: Database;
  /** The core to use instead of connecting to MATCHING_CORE_URL (the caller closes it). */
  readonly coreClient?: CoreClient;
  readonly logger?: Logger;
  /** Custody source instead of the wallets service's internal route (WALLETS_URL). */
  readonly custody?: CustodySource;
  readonly clock?: () => Date;
}

export interface RunningLedger extends RunningService {
  readonly projection: ProjectionRunner;
  readonly assets: AssetCatalog;
}

/**
 * Starts the ledger subgraph on `subgraphPort('ledger')` (or `overrides.port`): migrations first,
 * then the journal projection and the audit relay (to identity), then HTTP. /health is ready once the projection caught up with the
 * core's event log as it was at start.
 */
export async function startLedger(
  config: PlatformConfig,
  overrides: LedgerOverrides = {},
): Promise<RunningLedger> {
  const logger = overrides.logger ?? createLogger('ledger', config.logLevel);
  const db =
    overrides.db ??
    (await openDatabase({
      schema: ledgerDatabaseSchema,
      databaseUrl: config.databaseUrl,
      dataDir: path.join(config.dataDir, 'ledger'),
      migrationsDir: ledgerMigrationsDir,
    }));
  const closers: Array<() => Promise<void>> = [];
  if (overrides.db === undefined) closers.push(() => db.close());
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    let core = overrides.coreClient;
    if (!core) {
      const { connectConfiguredCore } = await import('@graphex/matching-core');
      const remote = connectConfiguredCore('ledger', {
        internalTokenSecret: config.internalTokenSecret,
        logger,
      });
      closers.push(() => remote.close());
      core = remote;
    }
    const subgraph = await createLedgerService({
      db,
      core,
      logger,
      custody:
        overrides.custody ??
        createWalletsCustodySource({
          walletsUrl: subgraphUrl('wallets'),
          internalTokenSecret: config.internalTokenSecret,
        }),
      ...(overrides.clock ? { clock: overrides.clock } : {}),
      projectionLingerMs: ledgerProjectionLingerMs,
    });
    closers.push(() => subgraph.close());
    const relay = startAuditRelay({
      db,
      source: 'ledger',
      identityUrl: subgraphUrl('identity'),
      internalTokenSecret: config.internalTokenSecret,
      logger,
    });
    closers.push(() => relay.stop());
    const service = await startSubgraphService({
      name: 'ledger',
      schema: subgraph.schema,
      port: overrides.port ?? subgraphPort('ledger'),
      config,
      logger,
      createContext: subgraph.createContext,
      isReady: async () => {
        if (!subgraph.projection.caughtUp()) return false;
        await db.query('SELECT 1');
        return true;
      },
      onClose: closeAll,
    });
    return { ...service, projection: subgraph.projection, assets: subgraph.assets };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
