import { Redis } from 'ioredis';
import { assertEntry, assertKey, assertRule, type KeyValueStore, type RateLimiter } from './ports.ts';

/**
 * GCRA in one atomic script, on Redis's own clock (every gateway instance then agrees on time).
 * KEYS[1] = key; ARGV = windowMs, limit, cost. Returns { allowed, remaining, retryAfterMs }.
 */
const gcraScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local interval = window / limit
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local newTat = tat + interval * cost
local allowAt = newTat - window
if allowAt > now then
  return {0, 0, math.ceil(allowAt - now)}
end
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.max(1, math.ceil(newTat - now)))
return {1, math.floor((window - (newTat - now)) / interval), 0}
`;

function connect(redisUrl: string): Redis {
  return new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true });
}

/** Shared limiter: keys live under `prefix` in Redis. */
export async function createRedisRateLimiter(redisUrl: string, prefix = 'graphex:rl:'): Promise<RateLimiter> {
  const redis = connect(redisUrl);
  await redis.connect();
  redis.defineCommand('graphexGcra', { numberOfKeys: 1, lua: gcraScript });
  const run = (
    redis as unknown as {
      graphexGcra(
        key: string,
        windowMs: number,
        limit: number,
        cost: number,
      ): Promise<[number, number, number]>;
    }
  ).graphexGcra.bind(redis);
  return {
    kind: 'redis',
    consume: async (key, rule, cost = 1) => {
      assertKey(key);
      assertRule(rule, cost);
      const [allowed, remaining, retryAfterMs] = await run(prefix + key, rule.windowMs, rule.limit, cost);
      return { allowed: allowed === 1, remaining, retryAfterMs };
    },
    close: async () => {
      await redis.quit().catch(() => undefined);
    },
  };
}

export async function createRedisKeyValueStore(
  redisUrl: string,
  prefix = 'graphex:kv:',
): Promise<KeyValueStore> {
  const redis = connect(redisUrl);
  await redis.connect();
  return {
    kind: 'redis',
    get: async (key) => {
      assertKey(key);
      return (await redis.get(prefix + key)) ?? undefined;
    },
    set: async (key, value, ttlMs) => {
      assertEntry(key, value, ttlMs);
      await redis.set(prefix + key, value, 'PX', ttlMs);
    },
    setIfAbsent: async (key, value, ttlMs) => {
      assertEntry(key, value, ttlMs);
      return (await redis.set(prefix + key, value, 'PX', ttlMs, 'NX')) === 'OK';
    },
    delete: async (key) => {
      assertKey(key);
      await redis.del(prefix + key);
    },
    close: async () => {
      await redis.quit().catch(() => undefined);
    },
  };
}
