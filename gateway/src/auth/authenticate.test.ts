import { describe, expect, it } from 'vitest';
import type { GraphQLError } from 'graphql';
import { signAccessToken, type Identity } from '@graphex/runtime';
import { createAuthenticator, userAccessTokenVerifier, type CredentialVerifier } from './authenticate.ts';

const secret = 'test-jwt-secret-test-jwt-secret-0123456789';

async function refusal(promise: Promise<unknown>): Promise<{ code: unknown; message: string }> {
  try {
    await promise;
  } catch (error) {
    const extensions = (error as GraphQLError).extensions ?? {};
    return { code: extensions['code'], message: (error as Error).message };
  }
  throw new Error('expected a refusal');
}

describe('createAuthenticator', () => {
  const authenticate = createAuthenticator([userAccessTokenVerifier(secret)]);

  it('is anonymous without an Authorization header', async () => {
    expect(await authenticate(undefined)).toEqual({ kind: 'anonymous' });
  });

  it('turns a valid access token into a user identity', async () => {
    const token = await signAccessToken({ userId: 'u-1', role: 'SUPPORT', sessionId: 's-1' }, secret, 60);
    expect(await authenticate(`Bearer ${token}`)).toEqual({
      kind: 'user',
      userId: 'u-1',
      role: 'SUPPORT',
      sessionId: 's-1',
    });
  });

  it.each([
    ['', 'must be "Bearer <token>"'],
    ['Bearer', 'must be "Bearer <token>"'],
    ['Token abc', 'must be "Bearer <token>"'],
    ['Bearer a b', 'must be "Bearer <token>"'],
    ['Bearer abc!def', 'malformed'],
    [`Bearer ${'a'.repeat(4097)}`, 'malformed'],
    ['Bearer aaa.bbb.ccc', 'invalid or expired'],
    ['Bearer gx_live_unknown_kind', 'invalid or expired'],
  ])('refuses %j as UNAUTHENTICATED', async (header, message) => {
    const result = await refusal(authenticate(header));
    expect(result.code).toBe('UNAUTHENTICATED');
    expect(result.message).toContain(message);
  });

  it('refuses expired tokens and tokens signed with another secret', async () => {
    const expired = await signAccessToken({ userId: 'u', role: 'USER', sessionId: 's' }, secret, -1);
    expect((await refusal(authenticate(`Bearer ${expired}`))).code).toBe('UNAUTHENTICATED');
    const foreign = await signAccessToken(
      { userId: 'u', role: 'USER', sessionId: 's' },
      `${secret}-other`,
      60,
    );
    expect((await refusal(authenticate(`Bearer ${foreign}`))).code).toBe('UNAUTHENTICATED');
  });

  it('lets the first verifier that recognises the credential decide (API keys plug in the same way)', async () => {
    const seen: string[] = [];
    const apiKeys: CredentialVerifier = {
      kind: 'apiKey',
      recognizes: (credential) => credential.startsWith('gx_'),
      async verify(credential) {
        seen.push(credential);
        return credential === 'gx_good'
          ? ({
              kind: 'apiKey',
              userId: 'u',
              role: 'USER',
              apiKeyId: 'k',
              scopes: ['READ'],
              persistedOnly: false,
            } satisfies Identity)
          : null;
      },
    };
    const withKeys = createAuthenticator([userAccessTokenVerifier(secret), apiKeys]);
    expect(await withKeys('Bearer gx_good')).toMatchObject({ kind: 'apiKey', apiKeyId: 'k' });
    expect((await refusal(withKeys('Bearer gx_bad'))).code).toBe('UNAUTHENTICATED');
    expect(seen).toEqual(['gx_good', 'gx_bad']);
  });
});
