/**
 * Test support shared by every package: a database per test (PGlite in memory by default, a fresh
 * schema in the real PostgreSQL when DATABASE_URL is set) and a client that calls a subgraph the
 * way the gateway does, with a signed internal identity.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type PlatformConfig } from './config.ts';
import { openDatabase, type Database } from './db/index.ts';
import {
  anonymous,
  internalIdentityHeader,
  signInternalIdentity,
  type Identity,
  type Role,
} from './auth/identity.ts';
import { createLogger } from './logger.ts';

/** Config for tests: development secrets, quiet logs, port 0 everywhere. */
export function testConfig(overrides: Record<string, string> = {}): PlatformConfig {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'error', ...overrides });
}

export const testLogger = createLogger('test', (process.env['LOG_LEVEL'] as 'debug' | undefined) ?? 'error');

/** Which adapter the suite runs on: `postgres` when DATABASE_URL is set, else `pglite`. */
export const testDatabaseKind: 'pglite' | 'postgres' = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';

export interface TestDatabase {
  readonly db: Database;
  readonly schema: string;
  /** Closes the connection and, on PostgreSQL, drops the test's schema. */
  dispose(): Promise<void>;
}

/** Opens an isolated, migrated database for one test file. */
export async function openTestDatabase(baseSchema: string, migrationsDir?: string): Promise<TestDatabase> {
  const databaseUrl = process.env['DATABASE_URL'];
  const schema = databaseUrl ? `${baseSchema}_t${randomBytes(5).toString('hex')}` : baseSchema;
  const db = await openDatabase({
    schema,
    schemaPrefix: '',
    databaseUrl,
    dataDir: 'memory://',
    migrationsDir,
  });
  return {
    db,
    schema,
    dispose: async () => {
      await db.close();
      if (databaseUrl) {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
      }
    },
  };
}

export interface GraphQLResponse<TData = Record<string, unknown>> {
  readonly status: number;
  readonly data?: TData | null;
  readonly errors?: ReadonlyArray<{
    message: string;
    path?: ReadonlyArray<string | number>;
    extensions?: Record<string, unknown>;
  }>;
}

/** Posts a GraphQL operation to `url` as the gateway would, signing `identity` (anonymous by default). */
export async function callSubgraph<TData = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  identity: Identity | null = anonymous,
  config: PlatformConfig = testConfig(),
): Promise<GraphQLResponse<TData>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (identity) {
    headers[internalIdentityHeader] = await signInternalIdentity(identity, config.internalTokenSecret, 60);
  }
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as Omit<GraphQLResponse<TData>, 'status'>;
  return { status: response.status, ...body };
}

/** Identity of a signed-in user, for tests. */
export function userIdentity(userId: string, role: Role = 'USER'): Identity {
  return { kind: 'user', userId, role, sessionId: null };
}
