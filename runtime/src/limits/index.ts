import { createMemoryKeyValueStore, createMemoryRateLimiter } from './memory.ts';
import type { KeyValueStore, RateLimiter } from './ports.ts';

export type { KeyValueStore, RateLimiter, RateLimitDecision, RateLimitRule } from './ports.ts';
export { limitsBounds } from './ports.ts';
export { createMemoryKeyValueStore, createMemoryRateLimiter } from './memory.ts';
export type { MemoryLimitsOptions } from './memory.ts';

/** The limiter the configuration asks for: Redis when `redisUrl` is set, in-memory otherwise. */
export async function openRateLimiter(redisUrl: string | undefined, prefix?: string): Promise<RateLimiter> {
  if (!redisUrl) return createMemoryRateLimiter();
  const { createRedisRateLimiter } = await import('./redis.ts');
  return createRedisRateLimiter(redisUrl, prefix);
}

/** The key-value store the configuration asks for: Redis when `redisUrl` is set, in-memory otherwise. */
export async function openKeyValueStore(
  redisUrl: string | undefined,
  prefix?: string,
): Promise<KeyValueStore> {
  if (!redisUrl) return createMemoryKeyValueStore();
  const { createRedisKeyValueStore } = await import('./redis.ts');
  return createRedisKeyValueStore(redisUrl, prefix);
}
