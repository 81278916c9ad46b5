import { describe, expect, it } from 'vitest';
import { createLogger, createMemoryRateLimiter, type Identity, type RateLimiter } from '@graphex/runtime';
import { createRateLimitGate } from './useRateLimits.ts';

const logger = createLogger('test', 'silent');
const rules = {
  perIp: { limit: 3, windowMs: 60_000 },
  perIdentity: { limit: 2, windowMs: 60_000 },
  signInPerIp: { limit: 1, windowMs: 60_000 },
};

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
    return null;
  } catch (error) {
    return error as { extensions: Record<string, unknown> };
  }
}

describe('rate-limit gate', () => {
  it('limits per IP and per identity with RATE_LIMITED, 429, Retry-After and retryAfterMs', async () => {
    const gate = createRateLimitGate(createMemoryRateLimiter(), rules, logger);
    for (let i = 0; i < 3; i++) await gate.admitIp('10.0.0.1');
    const limited = await refusal(gate.admitIp('10.0.0.1'));
    expect(limited?.extensions['code']).toBe('RATE_LIMITED');
    expect(limited?.extensions['retryAfterMs']).toBeGreaterThan(19_000);
    const http = limited?.extensions['http'] as { status: number; headers: Map<string, string> };
    expect(http.status).toBe(429);
    expect(Number(http.headers.get('retry-after'))).toBeGreaterThanOrEqual(20);
    await gate.admitIp('10.0.0.2');

    const user: Identity = { kind: 'user', userId: 'u1', role: 'USER', sessionId: 's' };
    const key: Identity = {
      kind: 'apiKey',
      userId: 'u1',
      role: 'USER',
      apiKeyId: 'k1',
      scopes: ['READ'],
      persistedOnly: false,
    };
    await gate.admitIdentity(user);
    await gate.admitIdentity(user);
    expect((await refusal(gate.admitIdentity(user)))?.extensions['code']).toBe('RATE_LIMITED');
    // A user's keys have budgets of their own; anonymous callers are covered by the IP budget.
    await gate.admitIdentity(key);
    for (let i = 0; i < 5; i++) await gate.admitIdentity({ kind: 'anonymous' });
  });

  it('admits (and logs) when the limiter itself fails', async () => {
    const broken: RateLimiter = {
      kind: 'redis',
      consume: async () => {
        throw new Error('connection refused');
      },
      close: async () => undefined,
    };
    await createRateLimitGate(broken, rules, logger).admitIp('10.0.0.1');
  });
});
