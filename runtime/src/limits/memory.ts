import {
  assertEntry,
  assertKey,
  assertRule,
  gcra,
  limitsBounds,
  type KeyValueStore,
  type RateLimiter,
} from './ports.ts';

/** Insertion-ordered map with per-entry expiry and a size bound (oldest evicted first). */
class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();
  readonly maxEntries: number;
  readonly clock: () => number;

  constructor(maxEntries: number, clock: () => number) {
    this.maxEntries = maxEntries;
    this.clock = clock;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.clock()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs: this.clock() + ttlMs });
    if (this.#entries.size > this.maxEntries) this.#sweep();
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Drops expired entries, then the oldest until a tenth of the room is free again. */
  #sweep(): void {
    const now = this.clock();
    for (const [key, entry] of this.#entries) if (entry.expiresAtMs <= now) this.#entries.delete(key);
    const target = Math.floor(this.maxEntries * 0.9);
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= target) break;
      this.#entries.delete(key);
    }
  }
}

export interface MemoryLimitsOptions {
  /** Milliseconds clock (tests move time); default `Date.now`. */
  readonly clock?: () => number;
  readonly maxEntries?: number;
}

/**
 * One process's limiter. Forgetting a key early (eviction under pressure) only ever errs on the side
 * of allowing, never of refusing a well-behaved client.
 */
export function createMemoryRateLimiter(options: MemoryLimitsOptions = {}): RateLimiter {
  const clock = options.clock ?? Date.now;
  const tats = new ExpiringMap<number>(options.maxEntries ?? limitsBounds.maxMemoryEntries, clock);
  return {
    kind: 'memory',
    consume: async (key, rule, cost = 1) => {
      assertKey(key);
      assertRule(rule, cost);
      const now = clock();
      const { decision, newTatMs } = gcra(tats.get(key), now, rule, cost);
      if (newTatMs !== undefined) tats.set(key, newTatMs, Math.max(1, Math.ceil(newTatMs - now)));
      return decision;
    },
    close: async () => tats.clear(),
  };
}

export function createMemoryKeyValueStore(options: MemoryLimitsOptions = {}): KeyValueStore {
  const clock = options.clock ?? Date.now;
  const values = new ExpiringMap<string>(options.maxEntries ?? limitsBounds.maxMemoryEntries, clock);
  return {
    kind: 'memory',
    get: async (key) => {
      assertKey(key);
      return values.get(key);
    },
    set: async (key, value, ttlMs) => {
      assertEntry(key, value, ttlMs);
      values.set(key, value, ttlMs);
    },
    setIfAbsent: async (key, value, ttlMs) => {
      assertEntry(key, value, ttlMs);
      if (values.get(key) !== undefined) return false;
      values.set(key, value, ttlMs);
      return true;
    },
    delete: async (key) => {
      assertKey(key);
      values.delete(key);
    },
    close: async () => values.clear(),
  };
}
