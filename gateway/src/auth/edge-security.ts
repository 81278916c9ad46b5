/**
 * Everything the gateway checks before a request reaches the query planner, assembled once:
 * authentication (JWT + session revocation, API keys + IP allowlist), rate limits, API-key scopes,
 * query limits, persisted queries and trusted documents, introspection switch.
 *
 * Configuration (environment, all optional):
 *   GATEWAY_INTROSPECTION            true|false; default true except NODE_ENV=production
 *   GATEWAY_SESSION_CACHE_MS         session-status cache (revocation delay bound), default 1000
 *   GATEWAY_API_KEY_CACHE_MS         API-key grant cache (revocation delay bound), default 5000
 *   GATEWAY_RATE_LIMIT_PER_IP        requests per minute per client IP, default 1200
 *   GATEWAY_RATE_LIMIT_PER_IDENTITY  requests per minute per user or API key, default 600
 *   GATEWAY_SIGNIN_LIMIT_PER_IP      register/login/refresh per minute per client IP, default 30
 *   GATEWAY_MAX_DEPTH / _COST / _ALIASES / _TOKENS   query limits (12 / 20000 / 30 / 2000)
 *   GATEWAY_TRUST_PROXY_HOPS         proxies in front of the gateway whose X-Forwarded-For is
 *                                    trusted (default 0: the socket address is the client)
 *   REDIS_URL                        shared limiter and APQ store (memory otherwise)
 */
import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { ValidationRule } from 'graphql';
import {
  createIdentityInternalClient,
  openKeyValueStore,
  openRateLimiter,
  type Identity,
  type Logger,
  type PlatformConfig,
} from '@graphex/runtime';
import type { GatewayContext } from '../subgraph-data-source.ts';
import { useOperationResolution } from '../plugins/useOperationResolution.ts';
import { useApiKeyScopes } from '../plugins/useApiKeyScopes.ts';
import { apqCache, loadTrustedDocuments, usePersistedQueries } from '../plugins/usePersistedQueries.ts';
import {
  defaultQueryLimits,
  queryLimitsValidationRule,
  useQueryLimits,
  type QueryLimits,
} from '../plugins/useQueryLimits.ts';
import {
  createRateLimitGate,
  defaultRateLimitRules,
  useSignInRateLimit,
  type RateLimitRules,
} from '../plugins/useRateLimits.ts';
import { createAuthenticator, userAccessTokenVerifier, type Authenticator } from './authenticate.ts';
import { apiKeyVerifier, sessionCheckedVerifier } from './verifiers.ts';
import { edgeError } from '../plugins/edge-error.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface EdgeSecurityOptions {
  readonly logger: Logger;
  /**
   * Identity's GraphQL URL; its internal endpoints are resolved against it. Without one (a
   * supergraph with no identity subgraph, as in the gateway's own tests) access tokens are checked
   * statelessly and API keys are not accepted.
   */
  readonly identityUrl: string | undefined;
  readonly env?: Env;
  /** Trusted-document manifest file (default schema/persisted-operations.json). */
  readonly manifestPath?: string;
}

export interface EdgeSecurity {
  readonly authenticate: Authenticator;
  /** Rate limits per IP, authentication, rate limits per identity: the identity of a request. */
  admit(request: IncomingMessage): Promise<{ identity: Identity; clientIp: string }>;
  /**
   * The identity of a graphql-ws connection (`connection_init` authorization): the same rate limits
   * and credential checks as HTTP. Persisted-only (partner) keys are refused: the manifest holds no
   * subscription, and the socket path does not run the persisted-document check.
   */
  admitSubscriber(authorization: string | undefined, request: IncomingMessage): Promise<Identity>;
  /** Remembers the client IP of a request context (for the sign-in limit). */
  bindContext<T extends GatewayContext>(context: T, clientIp: string): T;
  readonly plugins: ReadonlyArray<ApolloServerPlugin<GatewayContext>>;
  readonly persistedQueries: { cache: ReturnType<typeof apqCache>; ttl: number };
  readonly parseOptions: { maxTokens: number };
  readonly introspection: boolean;
  readonly queryLimits: QueryLimits;
  /** Depth/alias/cost limits as validation rules, for the graphql-ws server. */
  readonly subscriptionValidationRules: ReadonlyArray<ValidationRule>;
  close(): Promise<void>;
}

function positiveInt(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${key}=${raw} must be a non-negative integer.`);
  return value;
}

/** The client address: the socket peer, or the entry `hops` from the right of X-Forwarded-For. */
export function clientIpOf(request: IncomingMessage, trustProxyHops = 0): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustProxyHops <= 0) return peer;
  const forwarded = request.headers['x-forwarded-for'];
  const chain = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  return chain[chain.length - trustProxyHops] ?? chain[0] ?? peer;
}

export async function createEdgeSecurity(
  config: PlatformConfig,
  options: EdgeSecurityOptions,
): Promise<EdgeSecurity> {
  const env = options.env ?? process.env;
  const { logger } = options;
  const identity =
    options.identityUrl === undefined
      ? undefined
      : createIdentityInternalClient({
          identityUrl: options.identityUrl,
          internalTokenSecret: config.internalTokenSecret,
          service: 'gateway',
        });
  if (!identity)
    logger.warn('no identity subgraph: access tokens are not checked for revocation, API keys are refused');
  const authenticate = createAuthenticator(
    identity
      ? [
          sessionCheckedVerifier(userAccessTokenVerifier(config.jwtSecret), identity, {
            sessionCacheMs: positiveInt(env, 'GATEWAY_SESSION_CACHE_MS', 1_000),
            accessTokenTtlMs: config.jwtAccessTtlSeconds * 1000,
            logger,
          }),
          apiKeyVerifier(identity, {
            apiKeyCacheMs: positiveInt(env, 'GATEWAY_API_KEY_CACHE_MS', 5_000),
            logger,
          }),
        ]
      : [userAccessTokenVerifier(config.jwtSecret)],
  );
  const perMinute = (key: string, fallback: number) => ({
    limit: Math.max(1, positiveInt(env, key, fallback)),
    windowMs: 60_000,
  });
  const rules: RateLimitRules = {
    perIp: perMinute('GATEWAY_RATE_LIMIT_PER_IP', defaultRateLimitRules.perIp.limit),
    perIdentity: perMinute('GATEWAY_RATE_LIMIT_PER_IDENTITY', defaultRateLimitRules.perIdentity.limit),
    signInPerIp: perMinute('GATEWAY_SIGNIN_LIMIT_PER_IP', defaultRateLimitRules.signInPerIp.limit),
  };
  const queryLimits: QueryLimits = {
    maxDepth: positiveInt(env, 'GATEWAY_MAX_DEPTH', defaultQueryLimits.maxDepth),
    maxCost: positiveInt(env, 'GATEWAY_MAX_COST', defaultQueryLimits.maxCost),
    maxAliases: positiveInt(env, 'GATEWAY_MAX_ALIASES', defaultQueryLimits.maxAliases),
    maxTokens: positiveInt(env, 'GATEWAY_MAX_TOKENS', defaultQueryLimits.maxTokens),
  };
  const trustProxyHops = positiveInt(env, 'GATEWAY_TRUST_PROXY_HOPS', 0);
  const introspectionSetting = env['GATEWAY_INTROSPECTION'];
  const introspection =
    introspectionSetting === undefined || introspectionSetting === ''
      ? !config.production
      : introspectionSetting === 'true';

  const limiter = await openRateLimiter(config.redisUrl, 'graphex:gateway:rl:');
  const store = await openKeyValueStore(config.redisUrl, 'graphex:gateway:kv:').catch(
    async (error: unknown) => {
      await limiter.close();
      throw error;
    },
  );
  const trusted = loadTrustedDocuments(options.manifestPath);
  const gate = createRateLimitGate(limiter, rules, logger);
  // A symbol-keyed own property survives Apollo's per-operation clone of the context object
  // (Object.assign copies enumerable symbols), where a WeakMap keyed by the original would not.
  const clientIpKey = Symbol('graphex.clientIp');
  logger.info('edge security', {
    limiter: limiter.kind,
    trustedDocuments: trusted.size,
    introspection,
    queryLimits,
    rateLimits: rules,
  });

  return {
    authenticate,
    async admit(request) {
      const clientIp = clientIpOf(request, trustProxyHops);
      await gate.admitIp(clientIp);
      const authorization = request.headers['authorization'];
      const identity = await authenticate(Array.isArray(authorization) ? authorization[0] : authorization, {
        clientIp,
      });
      await gate.admitIdentity(identity);
      return { identity, clientIp };
    },
    async admitSubscriber(authorization, request) {
      const clientIp = clientIpOf(request, trustProxyHops);
      await gate.admitIp(clientIp);
      const identity = await authenticate(authorization, { clientIp });
      if (identity.kind === 'apiKey' && identity.persistedOnly)
        throw edgeError('PERSISTED_QUERY_REQUIRED', 'Persisted-only API keys cannot open subscriptions.');
      await gate.admitIdentity(identity);
      return identity;
    },
    bindContext(context, clientIp) {
      (context as unknown as Record<symbol, string>)[clientIpKey] = clientIp;
      return context;
    },
    // Refusals settle in this order: a partner key learns "persisted only" before anything else.
    plugins: [
      usePersistedQueries(trusted),
      useOperationResolution(),
      useApiKeyScopes(),
      useQueryLimits(queryLimits),
      useSignInRateLimit(
        limiter,
        rules.signInPerIp,
        (context) => (context as unknown as Record<symbol, string | undefined>)[clientIpKey],
      ),
    ],
    persistedQueries: { cache: apqCache(store, trusted), ttl: 24 * 3600 },
    parseOptions: { maxTokens: queryLimits.maxTokens },
    introspection,
    queryLimits,
    subscriptionValidationRules: [queryLimitsValidationRule(queryLimits)],
    close: async () => {
      await Promise.all([limiter.close(), store.close()]);
    },
  };
}
