import { describe, expect, it } from 'vitest';
import {
  IdentityUnavailableError,
  createLogger,
  signAccessToken,
  type ApiKeyGrant,
  type SessionStatus,
} from '@graphex/runtime';
import { createAuthenticator, userAccessTokenVerifier } from './authenticate.ts';
import { apiKeyVerifier, sessionCheckedVerifier } from './verifiers.ts';

const secret = 'test-jwt-secret-test-jwt-secret-0123456789';
const logger = createLogger('test', 'silent');
const userId = '11111111-1111-4111-8111-111111111111';
const sessionId = '22222222-2222-4222-8222-222222222222';

async function refusalCode(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as { extensions?: Record<string, unknown> }).extensions?.['code'];
  }
  return 'accepted';
}

describe('sessionCheckedVerifier', () => {
  function setup() {
    let now = 1_000_000;
    const answers: Array<SessionStatus | Error> = [];
    const calls: string[] = [];
    const identity = {
      sessionStatus: async (u: string, s: string) => {
        calls.push(`${u}:${s}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const next = answers.shift() ?? { active: true, role: 'USER' as const };
        if (next instanceof Error) throw next;
        return next;
      },
    };
    const authenticate = createAuthenticator([
      sessionCheckedVerifier(userAccessTokenVerifier(secret), identity, {
        sessionCacheMs: 1_000,
        accessTokenTtlMs: 900_000,
        clock: () => now,
        logger,
      }),
    ]);
    return { authenticate, answers, calls, advance: (ms: number) => (now += ms) };
  }

  it('asks identity once per session per cache period (single flight), then again', async () => {
    const { authenticate, calls, advance } = setup();
    const token = await signAccessToken({ userId, role: 'USER', sessionId }, secret, 60);
    const results = await Promise.all(Array.from({ length: 20 }, () => authenticate(`Bearer ${token}`)));
    expect(results.every((r) => r.kind === 'user')).toBe(true);
    expect(calls).toHaveLength(1);
    advance(999);
    await authenticate(`Bearer ${token}`);
    expect(calls).toHaveLength(1);
    advance(2);
    await authenticate(`Bearer ${token}`);
    expect(calls).toHaveLength(2);
  });

  it('refuses a revoked session and applies the current role over the token claim', async () => {
    const { authenticate, answers, advance } = setup();
    const token = await signAccessToken({ userId, role: 'ADMIN', sessionId }, secret, 60);
    answers.push({ active: true, role: 'USER' });
    expect(await authenticate(`Bearer ${token}`)).toMatchObject({ role: 'USER' });
    advance(1_001);
    answers.push({ active: false, role: 'USER' });
    expect(await refusalCode(authenticate(`Bearer ${token}`))).toBe('UNAUTHENTICATED');
    // A revoked answer is kept: no further look-ups can revive it.
    answers.push({ active: true, role: 'USER' });
    advance(5_000);
    expect(await refusalCode(authenticate(`Bearer ${token}`))).toBe('UNAUTHENTICATED');
  });

  it('reuses a recent active answer when identity is down, else fails closed', async () => {
    const { authenticate, answers, advance } = setup();
    const token = await signAccessToken({ userId, role: 'USER', sessionId }, secret, 60);
    await authenticate(`Bearer ${token}`);
    advance(1_500);
    answers.push(new IdentityUnavailableError('down'));
    expect((await authenticate(`Bearer ${token}`)).kind).toBe('user');
    advance(60_000);
    answers.push(new IdentityUnavailableError('down'));
    expect(await refusalCode(authenticate(`Bearer ${token}`))).toBe('SERVICE_UNAVAILABLE');
  });
});

describe('apiKeyVerifier', () => {
  const keySecret = `gxk_${'A'.repeat(43)}`;
  const grant = (overrides: Partial<ApiKeyGrant> = {}): ApiKeyGrant => ({
    apiKeyId: 'k1',
    userId,
    role: 'USER',
    scopes: ['READ', 'TRADE'],
    persistedOnly: false,
    ipAllowlist: [],
    expiresAt: null,
    ...overrides,
  });

  it('turns a granted key into an apiKey identity, caching it briefly', async () => {
    let now = 0;
    const calls: string[] = [];
    let answer: ApiKeyGrant | null = grant();
    const authenticate = createAuthenticator([
      apiKeyVerifier(
        { verifyApiKey: async (s) => (calls.push(s), answer) },
        { apiKeyCacheMs: 5_000, clock: () => now, logger },
      ),
    ]);
    expect(await authenticate(`Bearer ${keySecret}`)).toEqual({
      kind: 'apiKey',
      userId,
      role: 'USER',
      apiKeyId: 'k1',
      scopes: ['READ', 'TRADE'],
      persistedOnly: false,
    });
    answer = null;
    await authenticate(`Bearer ${keySecret}`);
    expect(calls).toHaveLength(1);
    now += 5_001;
    expect(await refusalCode(authenticate(`Bearer ${keySecret}`))).toBe('UNAUTHENTICATED');
    expect(await refusalCode(authenticate(`Bearer gxk_short`))).toBe('UNAUTHENTICATED');
    expect(calls).toHaveLength(2);
  });

  it("never carries its owner's staff role: a staff member's key acts as a plain user", async () => {
    for (const role of ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const) {
      const authenticate = createAuthenticator([
        apiKeyVerifier({ verifyApiKey: async () => grant({ role }) }, { logger }),
      ]);
      expect(await authenticate(`Bearer ${keySecret}`)).toMatchObject({ kind: 'apiKey', role: 'USER' });
    }
  });

  it('checks the IP allowlist and expiry at the edge', async () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    const verify = (g: ApiKeyGrant) =>
      createAuthenticator([apiKeyVerifier({ verifyApiKey: async () => g }, { clock: () => now, logger })]);
    const listed = verify(grant({ ipAllowlist: ['10.0.0.0/8', '2001:db8::/32'] }));
    expect((await listed(`Bearer ${keySecret}`, { clientIp: '10.1.2.3' })).kind).toBe('apiKey');
    expect((await listed(`Bearer ${keySecret}`, { clientIp: '::ffff:10.1.2.3' })).kind).toBe('apiKey');
    expect((await listed(`Bearer ${keySecret}`, { clientIp: '2001:db8::1' })).kind).toBe('apiKey');
    expect(await refusalCode(listed(`Bearer ${keySecret}`, { clientIp: '11.0.0.1' }))).toBe('FORBIDDEN');
    expect(await refusalCode(listed(`Bearer ${keySecret}`, {}))).toBe('FORBIDDEN');
    const expired = verify(grant({ expiresAt: '2026-05-31T23:59:59.000Z' }));
    expect(await refusalCode(expired(`Bearer ${keySecret}`))).toBe('UNAUTHENTICATED');
  });
});
