/**
 * Identity subgraph: users, sessions, roles, KYC status. Owns the `User` entity.
 *
 * - `createIdentityService(options)`: schema, context factory and use cases over an open database
 *   (no HTTP) — for embedding and tests.
 * - `startIdentity(config, overrides?)`: opens the database, migrates, bootstraps the admin user
 *   and serves the subgraph over HTTP.
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
import { createAuthService, type AdminBootstrapOutcome, type AuthService } from './auth-service.ts';
import type { SubgraphContext } from './context.ts';
import { createArgon2Hasher, type PasswordHasher } from './password-hasher.ts';
import { resolvers } from './resolvers/index.ts';
import { createUserLoader } from './user-loader.ts';

export type { AuthService, AuthResult, AdminBootstrapOutcome } from './auth-service.ts';
export type { SubgraphContext } from './context.ts';
export type { UserRecord, KycStatus } from './domain/user.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const identitySdlPath = path.join(packageDir, 'schema.graphql');
export const identityMigrationsDir = path.join(packageDir, 'src', 'migrations');
export const identityDatabaseSchema = 'identity';

export interface IdentityServiceOptions {
  readonly db: Database;
  readonly config: PlatformConfig;
  readonly logger: Logger;
  readonly hasher?: PasswordHasher;
  readonly clock?: () => Date;
}

export interface IdentityService {
  readonly schema: GraphQLSchema;
  readonly auth: AuthService;
  createContext(base: BaseRequestContext): SubgraphContext;
  /** Creates or promotes the configured admin user; null when no admin is configured. */
  bootstrapAdmin(): Promise<AdminBootstrapOutcome | null>;
}

export function createIdentityService(options: IdentityServiceOptions): IdentityService {
  const { db, config, logger } = options;
  const auth = createAuthService({
    db,
    config,
    logger,
    hasher: options.hasher ?? createArgon2Hasher(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(readFileSync(identitySdlPath, 'utf8')),
      resolvers: resolvers as GraphQLResolverMap<unknown>,
    },
  ]);
  return {
    schema,
    auth,
    createContext: (base) => ({ ...base, auth, loadUser: createUserLoader(db) }),
    bootstrapAdmin: async () => {
      if (!config.adminEmail || !config.adminPassword) {
        if (config.adminEmail || config.adminPassword) {
          logger.warn('admin bootstrap skipped: set both EXCHANGE_ADMIN_EMAIL and EXCHANGE_ADMIN_PASSWORD');
        }
        return null;
      }
      return auth.bootstrapAdmin(config.adminEmail, config.adminPassword);
    },
  };
}

export interface IdentityOverrides {
  readonly port?: number;
  /** An open, migrated database to use instead of opening one (the caller closes it). */
  readonly db?: Database;
  readonly logger?: Logger;
  readonly hasher?: PasswordHasher;
  readonly clock?: () => Date;
}

/** Starts the identity subgraph on `subgraphPort('identity')` (or `overrides.port`). */
export async function startIdentity(
  config: PlatformConfig,
  overrides: IdentityOverrides = {},
): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger('identity', config.logLevel);
  const db =
    overrides.db ??
    (await openDatabase({
      schema: identityDatabaseSchema,
      databaseUrl: config.databaseUrl,
      dataDir: path.join(config.dataDir, 'identity'),
      migrationsDir: identityMigrationsDir,
    }));
  const ownsDb = overrides.db === undefined;
  try {
    const service = createIdentityService({
      db,
      config,
      logger,
      ...(overrides.hasher ? { hasher: overrides.hasher } : {}),
      ...(overrides.clock ? { clock: overrides.clock } : {}),
    });
    await service.bootstrapAdmin();
    return await startSubgraphService({
      name: 'identity',
      schema: service.schema,
      port: overrides.port ?? subgraphPort('identity'),
      config,
      logger,
      createContext: service.createContext,
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
