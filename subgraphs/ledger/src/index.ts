/**
 * Ledger subgraph: accounts, double-entry journal, balances, audit. Adds `User.accounts`.
 *
 * - `createLedgerService(options)`: schema, context factory and service over an open database
 *   (no HTTP) — for embedding and tests.
 * - `startLedger(config, overrides?)`: opens the database, migrates and serves over HTTP.
 * - `verifyLedger(db)`: checks the ledger invariants (balanced journal, balances = journal,
 *   conservation, audit chain) and lists violations.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import {
  createLogger,
  openDatabase,
  startSubgraphService,
  subgraphPort,
  type BaseRequestContext,
  type Database,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import type { SubgraphContext } from './context.ts';
import { createLedgerOperations, type LedgerOperations } from './ledger-operations.ts';
import { resolvers } from './resolvers/index.ts';

export type { SubgraphContext } from './context.ts';
export type { LedgerOperations } from './ledger-operations.ts';
export type { UserAccountBalance, LedgerAccountRef } from './domain/accounts.ts';
export type { JournalTransaction, JournalEntry } from './domain/journal.ts';
export { postJournalTransaction, type PostOutcome } from './projections/journal-store.ts';
export { verifyLedger } from './projections/ledger-verifier.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ledgerSdlPath = path.join(packageDir, 'schema.graphql');
export const ledgerMigrationsDir = path.join(packageDir, 'src', 'migrations');
export const ledgerDatabaseSchema = 'ledger';

export interface LedgerServiceOptions {
  readonly db: Database;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

export interface LedgerService {
  readonly schema: GraphQLSchema;
  readonly ledger: LedgerOperations;
  createContext(base: BaseRequestContext): SubgraphContext;
}

export function createLedgerService(options: LedgerServiceOptions): LedgerService {
  const ledger = createLedgerOperations(options);
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(readFileSync(ledgerSdlPath, 'utf8')),
      resolvers: resolvers as GraphQLResolverMap<unknown>,
    },
  ]);
  return { schema, ledger, createContext: (base) => ({ ...base, ledger }) };
}

export interface LedgerOverrides {
  readonly port?: number;
  /** An open, migrated database to use instead of opening one (the caller closes it). */
  readonly db?: Database;
  readonly logger?: Logger;
  readonly clock?: () => Date;
}

/** Starts the ledger subgraph on `subgraphPort('ledger')` (or `overrides.port`). */
export async function startLedger(
  config: PlatformConfig,
  overrides: LedgerOverrides = {},
): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger('ledger', config.logLevel);
  const db =
    overrides.db ??
    (await openDatabase({
      schema: ledgerDatabaseSchema,
      databaseUrl: config.databaseUrl,
      dataDir: path.join(config.dataDir, 'ledger'),
      migrationsDir: ledgerMigrationsDir,
    }));
  const ownsDb = overrides.db === undefined;
  try {
    const subgraph = createLedgerService({
      db,
      logger,
      ...(overrides.clock ? { clock: overrides.clock } : {}),
    });
    return await startSubgraphService({
      name: 'ledger',
      schema: subgraph.schema,
      port: overrides.port ?? subgraphPort('ledger'),
      config,
      logger,
      createContext: subgraph.createContext,
      isReady: async () => {
        await db.query('SELECT 1');
        return true;
      },
      onClose: async () => {
        if (ownsDb) await db.close();
      },
    });
  } catch (error) {
    if (ownsDb) await db.close().catch(() => undefined);
    throw error;
  }
}
