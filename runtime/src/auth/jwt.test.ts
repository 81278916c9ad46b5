import { createHmac } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signHs256, verifyHs256, type JwtExpectations } from './jwt.ts';

const secret = 'a-test-secret-of-at-least-thirty-two-bytes';
const expected = { issuer: 'iss-a', audience: 'aud-a' };
const key = new TextEncoder().encode(secret);

function forge(header: object, payload: object, signWith = secret): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', signWith).update(input).digest('base64url')}`;
}

const now = Math.floor(Date.now() / 1000);
const validClaims = { iss: 'iss-a', aud: 'aud-a', iat: now, exp: now + 60, sub: 'u1' };

describe('HS256 JWT', () => {
  it('round-trips claims and sets iss, aud, iat and exp', () => {
    const token = signHs256({ sub: 'u1', idt: { kind: 'anonymous' } }, secret, {
      ...expected,
      ttlSeconds: 60,
    });
    const verified = verifyHs256(token, secret, expected);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.payload).toMatchObject({
      sub: 'u1',
      idt: { kind: 'anonymous' },
      iss: 'iss-a',
      aud: 'aud-a',
    });
    expect((verified.payload['exp'] as number) - (verified.payload['iat'] as number)).toBe(60);
  });

  it('is interchangeable with jose in both directions', async () => {
    const ours = signHs256({ sub: 'u1' }, secret, { ...expected, ttlSeconds: 60 });
    const { payload } = await jwtVerify(ours, key, {
      issuer: 'iss-a',
      audience: 'aud-a',
      algorithms: ['HS256'],
    });
    expect(payload.sub).toBe('u1');
    const theirs = await new SignJWT({ role: 'USER' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('u2')
      .setIssuer('iss-a')
      .setAudience(['other', 'aud-a'])
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(key);
    const verified = verifyHs256(theirs, secret, expected);
    expect(verified.ok && verified.payload['sub']).toBe('u2');
  });

  it('refuses every token it did not issue, each for its reason', () => {
    const refusal = (token: string, at: JwtExpectations = expected) => {
      const verified = verifyHs256(token, secret, at);
      return verified.ok ? 'accepted' : verified.reason;
    };
    const good = forge({ alg: 'HS256', typ: 'JWT' }, validClaims);
    expect(refusal(good)).toBe('accepted');
    expect(refusal(forge({ alg: 'HS256' }, validClaims, 'another-secret-of-enough-length-000'))).toBe(
      'signature',
    );
    expect(refusal(`${good.slice(0, -2)}AA`)).toBe('signature');
    expect(refusal(`${good.split('.').slice(0, 2).join('.')}.`)).toBe('signature');
    expect(refusal(forge({ alg: 'none' }, validClaims))).toBe('algorithm');
    expect(refusal(forge({ alg: 'HS512' }, validClaims))).toBe('algorithm');
    expect(refusal(forge({ alg: 'HS256', crit: ['b64'], b64: false }, validClaims))).toBe('algorithm');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, exp: now - 1 }))).toBe('expired');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, exp: now }))).toBe('expired');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, exp: undefined }))).toBe('claims');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, exp: String(now + 60) }))).toBe('claims');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, iss: 'iss-b' }))).toBe('claims');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, aud: ['aud-b'] }))).toBe('claims');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, nbf: now + 30 }))).toBe('claims');
    expect(refusal(forge({ alg: 'HS256' }, { ...validClaims, iat: 'yesterday' }))).toBe('claims');
    for (const malformed of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      '.b.c',
      `${good}.`,
      good.replace('.', '.+'),
      'e30.W10.' + createHmac('sha256', secret).update('e30.W10').digest('base64url'), // payload []
      'bm90IGpzb24.e30.x', // header "not json"
      'x'.repeat(10_000),
    ])
      expect(refusal(malformed), malformed.slice(0, 40)).toMatch(/malformed|algorithm|signature/);
    expect(refusal(good, { ...expected, now: now + 61 })).toBe('expired');
  });

  it('signs already-expired tokens for a lifetime of zero or less, and refuses a fractional one', () => {
    const expired = signHs256({}, secret, { ...expected, ttlSeconds: -1 });
    expect(verifyHs256(expired, secret, expected)).toEqual({ ok: false, reason: 'expired' });
    expect(() => signHs256({}, secret, { ...expected, ttlSeconds: 1.5 })).toThrow('ttlSeconds');
  });
});
