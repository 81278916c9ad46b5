/**
 * Ports for the gateway's abuse limits and caches (DESIGN.md rule 10): a rate limiter and a small
 * key-value store (APQ documents, revocation hints, webhook nonces). Each has an in-memory adapter
 * (one process, embedded default) and a Redis adapter (shared by every gateway instance), and one
 * contract suite runs on both (`limits.test.ts`).
 */

/** `limit` requests per `windowMs`, bursts of up to `limit` allowed (GCRA, a smooth token bucket). */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowMs: number;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Requests still allowed right now after this one (0 when refused). */
  readonly remaining: number;
  /** When refused: how long until the request would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
}

export interface RateLimiter {
  readonly kind: 'memory' | 'redis';
  /** Spends `cost` (default 1) from `key`'s allowance under `rule`; a refusal spends nothing. */
  consume(key: string, rule: RateLimitRule, cost?: number): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlMs` (required: nothing is kept forever). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Stores only when the key is absent; true when this call stored it (nonces, single-use ids). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Limits on the stores themselves (TigerBeetle style). */
export const limitsBounds = {
  maxKeyLength: 512,
  maxValueBytes: 512 * 1024,
  maxTtlMs: 30 * 24 * 3600 * 1000,
  /** Entries kept by one in-memory store before the oldest are evicted. */
  maxMemoryEntries: 100_000,
} as const;

export function assertRule(rule: RateLimitRule, cost: number): void {
  if (!Number.isSafeInteger(rule.limit) || rule.limit <= 0)
    throw new RangeError('limit must be a positive integer');
  if (!Number.isSafeInteger(rule.windowMs) || rule.windowMs <= 0)
    throw new RangeError('windowMs must be a positive integer');
  if (!Number.isSafeInteger(cost) || cost <= 0 || cost > rule.limit)
    throw new RangeError('cost must be a positive integer no larger than limit');
}

export function assertKey(key: string): void {
  if (key.length === 0 || key.length > limitsBounds.maxKeyLength)
    throw new RangeError(`keys are 1..${limitsBounds.maxKeyLength} characters`);
}

export function assertEntry(key: string, value: string, ttlMs: number): void {
  assertKey(key);
  if (Buffer.byteLength(value, 'utf8') > limitsBounds.maxValueBytes)
    throw new RangeError(`values are at most ${limitsBounds.maxValueBytes} bytes`);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > limitsBounds.maxTtlMs)
    throw new RangeError('ttlMs must be a positive integer of at most 30 days');
}

/**
 * GCRA step shared by the memory adapter (the Redis adapter runs the same arithmetic in Lua).
 * `tat` is the theoretical arrival time of the next request; the key may be forgotten once
 * `tat <= now`.
 */
export function gcra(
  storedTatMs: number | undefined,
  nowMs: number,
  rule: RateLimitRule,
  cost: number,
): { decision: RateLimitDecision; newTatMs: number | undefined } {
  const intervalMs = rule.windowMs / rule.limit;
  const tat = Math.max(storedTatMs ?? nowMs, nowMs);
  const newTat = tat + intervalMs * cost;
  const allowAt = newTat - rule.windowMs;
  if (allowAt > nowMs) {
    const remaining = 0;
    return {
      decision: { allowed: false, remaining, retryAfterMs: Math.ceil(allowAt - nowMs) },
      newTatMs: undefined,
    };
  }
  const remaining = Math.floor((rule.windowMs - (newTat - nowMs)) / intervalMs);
  return { decision: { allowed: true, remaining, retryAfterMs: 0 }, newTatMs: newTat };
}
