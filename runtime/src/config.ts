/**
 * Start-up configuration, read once from the environment (CONTRACT.md "Start-up configuration").
 * Development defaults are safe for a laptop; secrets with development defaults refuse to start
 * when NODE_ENV=production unless they are set explicitly.
 */
import path from 'node:path';

export const serviceNames = ['identity', 'ledger', 'orders', 'market-data', 'wallets'] as const;
export type SubgraphName = (typeof serviceNames)[number];

/** Default ports: gateway on PORT (4000), subgraphs on 4001..4005, matching core on 4010. */
export const defaultSubgraphPorts: Readonly<Record<SubgraphName, number>> = {
  identity: 4001,
  ledger: 4002,
  orders: 4003,
  'market-data': 4004,
  wallets: 4005,
};

const developmentSecrets = {
  JWT_SECRET: 'graphex-dev-jwt-secret-change-me-0123456789abcdef',
  INTERNAL_TOKEN_SECRET: 'graphex-dev-internal-secret-change-me-0123456789',
} as const;

export interface PlatformConfig {
  readonly nodeEnv: string;
  readonly production: boolean;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly kafkaBrokers: string | undefined;
  readonly gatewayPort: number;
  readonly host: string;
  readonly jwtSecret: string;
  readonly jwtAccessTtlSeconds: number;
  readonly jwtRefreshTtlSeconds: number;
  readonly internalTokenSecret: string;
  readonly internalTokenTtlSeconds: number;
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  readonly logLevel: LogLevelName;
}

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function envKey(name: SubgraphName): string {
  return name.toUpperCase().replace('-', '_');
}

function readPort(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${key}=${raw} is not a TCP port (0-65535).`);
  }
  return port;
}

function readPositiveInt(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${key}=${raw} must be a positive integer.`);
  }
  return value;
}

function readSecret(env: Env, key: keyof typeof developmentSecrets, production: boolean): string {
  const value = env[key];
  if (value !== undefined && value !== '') {
    if (value.length < 32) throw new ConfigError(`${key} must be at least 32 characters long.`);
    return value;
  }
  if (production) {
    throw new ConfigError(`${key} must be set when NODE_ENV=production (the development default is public).`);
  }
  return developmentSecrets[key];
}

export function loadConfig(env: Env = process.env): PlatformConfig {
  const nodeEnv = env['NODE_ENV'] ?? 'development';
  const production = nodeEnv === 'production';
  const logLevel = (env['LOG_LEVEL'] ?? (nodeEnv === 'test' ? 'warn' : 'info')) as LogLevelName;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL=${logLevel} must be one of debug, info, warn, error, silent.`);
  }
  return {
    nodeEnv,
    production,
    dataDir: path.resolve(env['DATA_DIR'] || './.data'),
    databaseUrl: env['DATABASE_URL'] || undefined,
    redisUrl: env['REDIS_URL'] || undefined,
    kafkaBrokers: env['KAFKA_BROKERS'] || undefined,
    gatewayPort: readPort(env, 'PORT', 4000),
    host: env['HOST'] || '127.0.0.1',
    jwtSecret: readSecret(env, 'JWT_SECRET', production),
    jwtAccessTtlSeconds: readPositiveInt(env, 'JWT_ACCESS_TTL_SECONDS', 15 * 60),
    jwtRefreshTtlSeconds: readPositiveInt(env, 'JWT_REFRESH_TTL_SECONDS', 30 * 24 * 3600),
    internalTokenSecret: readSecret(env, 'INTERNAL_TOKEN_SECRET', production),
    internalTokenTtlSeconds: readPositiveInt(env, 'INTERNAL_TOKEN_TTL_SECONDS', 60),
    adminEmail: env['EXCHANGE_ADMIN_EMAIL'] || undefined,
    adminPassword: env['EXCHANGE_ADMIN_PASSWORD'] || undefined,
    logLevel,
  };
}

/** Port a subgraph listens on: `<NAME>_PORT` (e.g. MARKET_DATA_PORT) or its default. */
export function subgraphPort(name: SubgraphName, env: Env = process.env): number {
  return readPort(env, `${envKey(name)}_PORT`, defaultSubgraphPorts[name]);
}

/** URL the gateway uses for a subgraph: `<NAME>_URL` or http://127.0.0.1:<port>/graphql. */
export function subgraphUrl(name: SubgraphName, env: Env = process.env): string {
  const explicit = env[`${envKey(name)}_URL`];
  if (explicit) return explicit;
  const host = env['SUBGRAPH_HOST'] || '127.0.0.1';
  return `http://${host}:${subgraphPort(name, env)}/graphql`;
}

/** Port of the matching-core service: MATCHING_CORE_PORT or 4010. */
export function matchingCorePort(env: Env = process.env): number {
  return readPort(env, 'MATCHING_CORE_PORT', 4010);
}

/** WebSocket URL of the matching-core service: MATCHING_CORE_URL or ws://127.0.0.1:<port>/core. */
export function matchingCoreUrl(env: Env = process.env): string {
  return (
    env['MATCHING_CORE_URL'] || `ws://${env['SUBGRAPH_HOST'] || '127.0.0.1'}:${matchingCorePort(env)}/core`
  );
}
