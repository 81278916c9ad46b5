import { describe, expect, it } from 'vitest';
import { apiKeyPattern, hashApiKeySecret, newApiKeySecret, normaliseScopes } from './api-key.ts';

describe('API key secrets and scopes', () => {
  it('generates distinct gxk_ secrets stored as SHA-256', () => {
    const a = newApiKeySecret();
    const b = newApiKeySecret();
    expect(a.secret).toMatch(apiKeyPattern);
    expect(a.secret).not.toBe(b.secret);
    expect(a.secretHash).toBe(hashApiKeySecret(a.secret));
    expect(a.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.prefix).toBe(a.secret.slice(0, 10));
  });

  it('always grants READ, orders and de-duplicates, refuses unknown or empty scopes', () => {
    expect(normaliseScopes(['WITHDRAW', 'TRADE', 'TRADE'])).toEqual(['READ', 'TRADE', 'WITHDRAW']);
    expect(normaliseScopes(['READ'])).toEqual(['READ']);
    expect(normaliseScopes([])).toMatch(/at least one/);
    expect(normaliseScopes(['ADMIN'])).toMatch(/Unknown scope/);
  });
});
