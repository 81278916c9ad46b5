/**
 * API keys for bots: `gxk_` + 32 random bytes (base64url), shown once; only the SHA-256 is stored
 * (256 bits of randomness make an unsalted hash sufficient). Scopes, IP allowlist and expiry are
 * validated here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { apiKeyScopes, type ApiKeyScope } from '@graphex/runtime';

export const apiKeyPattern = /^gxk_[A-Za-z0-9_-]{43}$/;
export const apiKeyLimits = {
  maxActiveKeysPerUser: 20,
  maxNameLength: 64,
  maxLifetimeMs: 366 * 24 * 3600 * 1000,
} as const;

export function newApiKeySecret(): {
  readonly secret: string;
  readonly secretHash: string;
  readonly prefix: string;
} {
  const secret = `gxk_${randomBytes(32).toString('base64url')}`;
  return { secret, secretHash: hashApiKeySecret(secret), prefix: secret.slice(0, 10) };
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Every key can read; TRADE and WITHDRAW are added on top. Sorted, de-duplicated. */
export function normaliseScopes(scopes: readonly string[]): ApiKeyScope[] | string {
  if (scopes.length === 0) return 'Give at least one scope.';
  const unknown = scopes.find((s) => !(apiKeyScopes as readonly string[]).includes(s));
  if (unknown !== undefined) return `Unknown scope ${unknown}.`;
  const set = new Set<ApiKeyScope>(['READ', ...(scopes as ApiKeyScope[])]);
  return apiKeyScopes.filter((s) => set.has(s));
}
