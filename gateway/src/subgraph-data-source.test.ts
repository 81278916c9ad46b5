import { describe, expect, it } from 'vitest';
import { verifyInternalIdentity, type Identity } from '@graphex/runtime';
import { testConfig } from '@graphex/runtime/testing';
import { internalIdentityTokenFor } from './subgraph-data-source.ts';

describe('internalIdentityTokenFor', () => {
  const config = testConfig();
  const identity: Identity = { kind: 'user', userId: 'u-1', role: 'ADMIN', sessionId: 's-1' };

  it('signs once per request: every fetch of the plan reuses the same token', async () => {
    const tokenOf = internalIdentityTokenFor(identity, config);
    const first = tokenOf();
    expect(tokenOf()).toBe(first);
    expect(await verifyInternalIdentity(await first, config.internalTokenSecret)).toEqual(identity);
  });

  it('is verifiable only with the same INTERNAL_TOKEN_SECRET', async () => {
    const token = await internalIdentityTokenFor(identity, config)();
    await expect(verifyInternalIdentity(token, `${config.internalTokenSecret}-other`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});
