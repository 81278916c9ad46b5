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
import { hkdfSync } from 'node:crypto';
import { createAdminService, type AdminService } from './admin-service.ts';
import { createApiKeyService, type ApiKeyService } from './api-key-service.ts';
import { createAuditor } from './audit.ts';
import { createAuthService, type AdminBootstrapOutcome, type AuthService } from './auth-service.ts';
import type { SubgraphContext } from './context.ts';
import { createSecretBox } from './domain/secret-box.ts';
import { identityRoutes, kycWebhookPath } from './internal-routes.ts';
import { createLocalRulesProvider, type KycProvider, type WebhookTransport } from './kyc-provider.ts';
import { createKycService, type KycService } from './kyc-service.ts';
import { createArgon2Hasher, type PasswordHasher } from './password-hasher.ts';
import { resolvers } from './resolvers/index.ts';
import { createTwoFactorService, type TwoFactorService } from './two-factor-service.ts';
import { createUserLoader } from './user-loader.ts';

export type { AuthService, AuthResult, AdminBootstrapOutcome } from './auth-service.ts';
export type { SubgraphContext } from './context.ts';
export type { UserRecord, KycStatus } from './domain/user.ts';
export type { KycProvider, KycProviderCase, KycWebhookBody, WebhookTransport } from './kyc-provider.ts';
export { createLocalRulesProvider } from './kyc-provider.ts';
export { signWebhook, webhookHeaders } from './domain/webhook-signature.ts';
export { withdrawalLimitsByTier } from './domain/kyc.ts';
export { kycWebhookPath } from './internal-routes.ts';

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
  /** KYC provider; default: the local rules provider calling back `kycWebhookTransport`. */
  readonly kycProvider?: (webhookSecret: string) => KycProvider;
  /** How the local provider reaches the webhook; default: in-process (still signed and checked). */
  readonly kycWebhookTransport?: WebhookTransport;
  /** HMAC secret of KYC callbacks; default KYC_WEBHOOK_SECRET or one derived from INTERNAL_TOKEN_SECRET. */
  readonly kycWebhookSecret?: string;
}

export interface IdentityService {
  readonly schema: GraphQLSchema;
  readonly auth: AuthService;
  readonly twoFactor: TwoFactorService;
  readonly apiKeys: ApiKeyService;
  readonly kyc: KycService;
  readonly admin: AdminService;
  readonly kycProvider: KycProvider;
  /** Plain HTTP routes (internal endpoints, KYC webhook) for `startSubgraphService({ routes })`. */
  readonly routes: ReturnType<typeof identityRoutes>;
  createContext(base: BaseRequestContext): SubgraphContext;
  close(): Promise<void>;
  /** Creates or promotes the configured admin user; null when no admin is configured. */
  bootstrapAdmin(): Promise<AdminBootstrapOutcome | null>;
}

export function createIdentityService(options: IdentityServiceOptions): IdentityService {
  const { db, config, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const audit = createAuditor(logger, clock);
  const twoFactor = createTwoFactorService({
    db,
    box: createSecretBox(config.jwtSecret, 'totp-secrets'),
    audit,
    logger,
    clock,
  });
  const auth = createAuthService({
    db,
    config,
    logger,
    twoFactor,
    audit,
    hasher: options.hasher ?? createArgon2Hasher(),
    clock,
  });
  const apiKeys = createApiKeyService({ db, twoFactor, audit, logger, clock });
  const admin = createAdminService({ db, audit });
  const webhookSecret = options.kycWebhookSecret ?? kycWebhookSecretFrom(config);
  // The in-process transport calls the KYC service that is built right below it.
  const kycRef: { current?: KycService } = {};
  const inProcessTransport: WebhookTransport = async (body, headers) => {
    const result = await kycRef.current!.handleWebhook(body, headers);
    if (result.status !== 200 && result.status !== 409)
      throw new Error(`KYC webhook answered ${result.status}`);
  };
  const kycProvider = options.kycProvider
    ? options.kycProvider(webhookSecret)
    : createLocalRulesProvider({
        webhookSecret,
        deliver: (body, headers) => (options.kycWebhookTransport ?? inProcessTransport)(body, headers),
        logger,
        clock,
      });
  const kyc = (kycRef.current = createKycService({
    db,
    audit,
    provider: () => kycProvider,
    webhookSecret,
    logger,
    clock,
  }));
  const routes = identityRoutes({
    db,
    auth,
    apiKeys,
    twoFactor,
    kyc,
    internalTokenSecret: config.internalTokenSecret,
    logger,
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
    twoFactor,
    apiKeys,
    kyc,
    admin,
    kycProvider,
    routes,
    createContext: (base) => ({
      ...base,
      auth,
      twoFactor,
      apiKeys,
      kyc: kyc!,
      admin,
      loadUser: createUserLoader(db),
    }),
    close: () => kycProvider.close(),
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

/** KYC_WEBHOOK_SECRET, or a key derived from INTERNAL_TOKEN_SECRET for the built-in provider. */
function kycWebhookSecretFrom(config: PlatformConfig): string {
  const explicit = process.env['KYC_WEBHOOK_SECRET'];
  if (explicit) {
    if (explicit.length < 32) throw new Error('KYC_WEBHOOK_SECRET must be at least 32 characters long.');
    return explicit;
  }
  return Buffer.from(
    hkdfSync('sha256', config.internalTokenSecret, 'graphex-identity', 'kyc-webhook', 32),
  ).toString('base64url');
}

export interface IdentityOverrides {
  readonly port?: number;
  /** An open, migrated database to use instead of opening one (the caller closes it). */
  readonly db?: Database;
  readonly logger?: Logger;
  readonly hasher?: PasswordHasher;
  readonly clock?: () => Date;
  readonly kycProvider?: (webhookSecret: string) => KycProvider;
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
    // The local provider calls the webhook over HTTP like an outside provider would.
    const webhook: { url?: string } = {};
    const service = createIdentityService({
      db,
      config,
      logger,
      ...(overrides.hasher ? { hasher: overrides.hasher } : {}),
      ...(overrides.clock ? { clock: overrides.clock } : {}),
      ...(overrides.kycProvider ? { kycProvider: overrides.kycProvider } : {}),
      kycWebhookTransport: async (body, headers) => {
        if (!webhook.url) throw new Error('identity is not listening yet');
        const response = await fetch(webhook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        await response.body?.cancel();
        if (response.status !== 200 && response.status !== 409)
          throw new Error(`KYC webhook answered HTTP ${response.status}`);
      },
    });
    await service.bootstrapAdmin();
    const running = await startSubgraphService({
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
      routes: service.routes,
      onClose: async () => {
        await service.close();
        if (ownsDb) await db.close();
      },
    });
    webhook.url = new URL(kycWebhookPath, running.url).toString();
    return running;
  } catch (error) {
    if (ownsDb) await db.close().catch(() => undefined);
    throw error;
  }
}
