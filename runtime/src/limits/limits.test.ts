/** One contract suite for the limits ports, run on the in-memory adapters and on the machine's Redis. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKeyValueStore, openRateLimiter, type KeyValueStore, type RateLimiter } from './index.ts';
import { createMemoryKeyValueStore, createMemoryRateLimiter } from './memory.ts';

const redisUrl = process.env['REDIS_URL'] ?? (process.env['CI'] ? 'redis://127.0.0.1:6379' : undefined);
const adapters: Array<{ name: string; url: string | undefined }> = [
  { name: 'memory', url: undefined },
  ...(redisUrl ? [{ name: 'redis', url: redisUrl }] : []),
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(adapters)('rate limiter on $name', ({ name, url }) => {
  let limiter: RateLimiter;
  beforeAll(async () => {
    limiter = await openRateLimiter(url, `graphex-test:${randomUUID()}:`);
  });
  afterAll(async () => {
    await limiter.close();
  });

  it('reports its kind', () => {
    expect(limiter.kind).toBe(name);
  });

  it('allows a burst of `limit`, then refuses with a retry-after within the window', async () => {
    const rule = { limit: 5, windowMs: 400 };
    const key = `k-${randomUUID()}`;
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await limiter.consume(key, rule));
    expect(decisions.slice(0, 5).every((d) => d.allowed)).toBe(true);
    expect(decisions.slice(0, 5).map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0]);
    const refused = decisions[5]!;
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(80);
    await sleep(refused.retryAfterMs + 15);
    expect((await limiter.consume(key, rule)).allowed).toBe(true);
  });

  it('keeps keys apart and spends nothing on a refusal', async () => {
    const rule = { limit: 2, windowMs: 60_000 };
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    expect((await limiter.consume(a, rule, 2)).allowed).toBe(true);
    for (let i = 0; i < 5; i++) expect((await limiter.consume(a, rule)).allowed).toBe(false);
    const refusal = await limiter.consume(a, rule);
    // Refusals did not push the allowance further out: the next slot is one interval away.
    expect(refusal.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(refusal.retryAfterMs).toBeGreaterThan(29_000);
    expect((await limiter.consume(b, rule)).allowed).toBe(true);
  });

  it('never allows more than `limit` under concurrent calls', async () => {
    const rule = { limit: 10, windowMs: 60_000 };
    const key = `c-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 50 }, () => limiter.consume(key, rule)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('refuses invalid rules and costs', async () => {
    await expect(limiter.consume('x', { limit: 0, windowMs: 10 })).rejects.toThrow(RangeError);
    await expect(limiter.consume('x', { limit: 2, windowMs: 10 }, 3)).rejects.toThrow(RangeError);
    await expect(limiter.consume('', { limit: 2, windowMs: 10 })).rejects.toThrow(RangeError);
  });
});

describe.each(adapters)('key-value store on $name', ({ name, url }) => {
  let store: KeyValueStore;
  beforeAll(async () => {
    store = await openKeyValueStore(url, `graphex-test:${randomUUID()}:`);
  });
  afterAll(async () => {
    await store.close();
  });

  it('reports its kind', () => {
    expect(store.kind).toBe(name);
  });

  it('stores, reads, overwrites and deletes', async () => {
    const key = `k-${randomUUID()}`;
    expect(await store.get(key)).toBeUndefined();
    await store.set(key, 'query { a }', 60_000);
    expect(await store.get(key)).toBe('query { a }');
    await store.set(key, 'query { b }', 60_000);
    expect(await store.get(key)).toBe('query { b }');
    await store.delete(key);
    expect(await store.get(key)).toBeUndefined();
  });

  it('forgets entries after their ttl', async () => {
    const key = `t-${randomUUID()}`;
    await store.set(key, 'v', 50);
    expect(await store.get(key)).toBe('v');
    await sleep(120);
    expect(await store.get(key)).toBeUndefined();
  });

  it('setIfAbsent stores once, also under concurrency (nonces)', async () => {
    const key = `n-${randomUUID()}`;
    const wins = await Promise.all(Array.from({ length: 20 }, () => store.setIfAbsent(key, '1', 60_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await store.setIfAbsent(key, '2', 60_000)).toBe(false);
    expect(await store.get(key)).toBe('1');
  });

  it('refuses oversized values, empty keys and unbounded ttls', async () => {
    await expect(store.set('k', 'x'.repeat(600 * 1024), 1000)).rejects.toThrow(RangeError);
    await expect(store.set('', 'x', 1000)).rejects.toThrow(RangeError);
    await expect(store.set('k', 'x', 0)).rejects.toThrow(RangeError);
  });
});

describe('memory adapters', () => {
  it('evict the oldest entries beyond their bound, which only ever allows more', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ clock: () => now, maxEntries: 10 });
    const rule = { limit: 1, windowMs: 1000 };
    for (let i = 0; i < 20; i++) expect((await limiter.consume(`k${i}`, rule)).allowed).toBe(true);
    expect((await limiter.consume('k19', rule)).allowed).toBe(false);
    expect((await limiter.consume('k0', rule)).allowed).toBe(true);
    now += 1000;
    expect((await limiter.consume('k19', rule)).allowed).toBe(true);
    const store = createMemoryKeyValueStore({ clock: () => now, maxEntries: 10 });
    for (let i = 0; i < 20; i++) await store.set(`k${i}`, 'v', 1000);
    expect(await store.get('k0')).toBeUndefined();
    expect(await store.get('k19')).toBe('v');
  });
});
