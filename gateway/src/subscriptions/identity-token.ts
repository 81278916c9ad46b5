/**
 * Identity helpers for the subscription engine: a stable key per identity (what "the same
 * subscriber" means for sharing) and a signed-token memo that re-signs before the token expires,
 * since one subscription outlives many short-lived internal tokens.
 */
import type { Identity } from '@graphex/runtime';

/** Equal for identities that must see the same data; differs for anything that could change it. */
export function identityKeyOf(identity: Identity): string {
  switch (identity.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'user':
      return JSON.stringify(['user', identity.userId, identity.role, identity.sessionId]);
    case 'apiKey':
      return JSON.stringify([
        'apiKey',
        identity.userId,
        identity.role,
        identity.apiKeyId,
        [...identity.scopes].sort(),
        identity.persistedOnly,
      ]);
  }
}

/** `exp` (seconds) of a JWT, read without verification; undefined when absent or not a JWT. */
function expiryMsOf(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Memoises `sign()`. A token is reused until a third of its remaining lifetime (at signing) is
 * left — or for `maxReuseMs` when it carries no `exp` — then signed again on next use.
 */
export function memoisedToken(
  sign: () => Promise<string>,
  maxReuseMs: number,
  now: () => number = Date.now,
): () => Promise<string> {
  let current: { readonly token: Promise<string>; refreshAtMs: number } | undefined;
  return () => {
    const at = now();
    if (current && at < current.refreshAtMs) return current.token;
    const token = sign();
    const entry = { token, refreshAtMs: at + maxReuseMs };
    current = entry;
    token.then(
      (value) => {
        const expiresAtMs = expiryMsOf(value);
        if (expiresAtMs !== undefined)
          entry.refreshAtMs = Math.min(at + maxReuseMs, at + ((expiresAtMs - at) * 2) / 3);
      },
      () => {
        // A failed signature is not cached: the next call signs again.
        if (current === entry) current = undefined;
      },
    );
    return token;
  };
}
