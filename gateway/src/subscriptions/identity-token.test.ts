import { describe, expect, it } from 'vitest';
import { identityKeyOf, memoisedToken } from './identity-token.ts';

function jwtExpiringAt(expSeconds: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part({ exp: expSeconds })}.signature`;
}

describe('identity keys', () => {
  it('separates users, sessions, API keys and anonymous; ignores scope order', () => {
    const keys = new Set([
      identityKeyOf({ kind: 'anonymous' }),
      identityKeyOf({ kind: 'user', userId: 'u1', role: 'USER', sessionId: 's1' }),
      identityKeyOf({ kind: 'user', userId: 'u1', role: 'USER', sessionId: 's2' }),
      identityKeyOf({ kind: 'user', userId: 'u2', role: 'USER', sessionId: 's1' }),
      identityKeyOf({
        kind: 'apiKey',
        userId: 'u1',
        role: 'USER',
        apiKeyId: 'k1',
        scopes: ['READ'],
        persistedOnly: false,
      }),
    ]);
    expect(keys.size).toBe(5);
    expect(
      identityKeyOf({
        kind: 'apiKey',
        userId: 'u1',
        role: 'USER',
        apiKeyId: 'k1',
        scopes: ['READ', 'TRADE'],
        persistedOnly: false,
      }),
    ).toBe(
      identityKeyOf({
        kind: 'apiKey',
        userId: 'u1',
        role: 'USER',
        apiKeyId: 'k1',
        scopes: ['TRADE', 'READ'],
        persistedOnly: false,
      }),
    );
  });
});

describe('memoisedToken', () => {
  it('reuses a token until two thirds of its lifetime, then signs again', async () => {
    let nowMs = 1_000_000;
    let signed = 0;
    const token = memoisedToken(
      async () => {
        signed += 1;
        return jwtExpiringAt(nowMs / 1000 + 60);
      },
      600_000,
      () => nowMs,
    );
    const first = await token();
    nowMs += 39_000;
    expect(await token()).toBe(first);
    nowMs += 2_000;
    await token();
    expect(signed).toBe(2);
  });

  it('does not cache a failed signature', async () => {
    let attempts = 0;
    const token = memoisedToken(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('no key');
      return 'opaque';
    }, 1_000);
    await expect(token()).rejects.toThrow('no key');
    await Promise.resolve();
    expect(await token()).toBe('opaque');
  });
});
