import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { signInternalIdentity, verifyInternalIdentity, type Identity } from './identity.ts';
import { signAccessToken, verifyAccessToken } from './user-tokens.ts';

const secret = 'test-internal-secret-0123456789abcdef-0123456789';
const user: Identity = { kind: 'user', userId: 'u1', role: 'USER', sessionId: 's1' };

describe('internal identity token', () => {
  it('round-trips an identity', async () => {
    expect(await verifyInternalIdentity(await signInternalIdentity(user, secret, 60), secret)).toEqual(user);
  });

  it('refuses missing, forged, expired and alg=none tokens as UNAUTHENTICATED', async () => {
    const unauthenticated = expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } });
    await expect(verifyInternalIdentity(undefined, secret)).rejects.toEqual(unauthenticated);
    await expect(
      verifyInternalIdentity(await signInternalIdentity(user, 'x'.repeat(40), 60), secret),
    ).rejects.toEqual(unauthenticated);
    const expired = await new SignJWT({ idt: user })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('graphex-gateway')
      .setAudience('graphex-subgraph')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(secret));
    await expect(verifyInternalIdentity(expired, secret)).rejects.toEqual(unauthenticated);
    const none = [
      Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url'),
      Buffer.from(
        JSON.stringify({ idt: { ...user, role: 'ADMIN' }, iss: 'graphex-gateway', aud: 'graphex-subgraph' }),
      ).toString('base64url'),
      '',
    ].join('.');
    await expect(verifyInternalIdentity(none, secret)).rejects.toEqual(unauthenticated);
    const token = await signInternalIdentity(user, secret, 60);
    const [header, , signature] = token.split('.');
    const edited = Buffer.from(
      JSON.stringify({ idt: { ...user, role: 'ADMIN' }, iss: 'graphex-gateway', aud: 'graphex-subgraph' }),
    ).toString('base64url');
    await expect(verifyInternalIdentity(`${header}.${edited}.${signature}`, secret)).rejects.toEqual(
      unauthenticated,
    );
  });
});

describe('user access tokens', () => {
  it('verifies its own tokens and nothing else', async () => {
    const token = await signAccessToken({ userId: 'u1', role: 'ADMIN', sessionId: 's' }, secret, 60);
    expect(await verifyAccessToken(token, secret)).toEqual({ userId: 'u1', role: 'ADMIN', sessionId: 's' });
    expect(await verifyAccessToken(token, 'y'.repeat(40))).toBeNull();
    expect(await verifyAccessToken('garbage', secret)).toBeNull();
    // An internal identity token is not an access token (different issuer/audience).
    expect(await verifyAccessToken(await signInternalIdentity(user, secret, 60), secret)).toBeNull();
  });
});
