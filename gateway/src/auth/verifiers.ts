/**
 * The credential verifiers that need identity's state, behind short-lived caches so the common
 * request costs no round trip:
 *
 * - **Session revocation** (`sessionCheckedVerifier`): an access token names its session; the
 *   gateway asks identity (`/internal/sessions/status`) whether that session is still active and
 *   what the user's role is now, and caches the answer per session for `sessionCacheMs` (default
 *   1 s). A logout, `logoutAll`, refresh-token reuse or 2FA disable therefore stops the access token
 *   within that bound instead of its 15-minute lifetime, and a role change applies as fast. A revoked
 *   answer is cached until the token could have expired anyway. Concurrent requests of one session
 *   share one look-up (single flight). p99 stays flat: at most one look-up per session per second.
 *   If identity is unreachable, a recent "active" answer (≤ `staleIfErrorMs`) is reused; otherwise
 *   the request fails closed (SERVICE_UNAVAILABLE).
 * - **API keys** (`apiKeyVerifier`): `gxk_…` secrets are checked by identity
 *   (`/internal/api-keys/verify`); the grant is cached by the secret's SHA-256 for `apiKeyCacheMs`
 *   (default 5 s, so a revocation applies within it), unknown secrets for 1 s. Expiry and the IP
 *   allowlist are checked here on every request, at the edge.
 */
import { createHash } from 'node:crypto';
import {
  IdentityUnavailableError,
  ipAllowed,
  type ApiKeyGrant,
  type Identity,
  type IdentityInternalClient,
  type Logger,
  type SessionStatus,
} from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { CredentialVerifier } from './authenticate.ts';

/** A bounded map of cached answers with single-flight loading. */
class FlightCache<V> {
  readonly #entries = new Map<string, { value: V; fetchedAtMs: number; freshUntilMs: number }>();
  readonly #flights = new Map<string, Promise<V>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  peek(key: string) {
    return this.#entries.get(key);
  }

  async load(
    key: string,
    nowMs: number,
    fetch: () => Promise<V>,
    freshForMs: (value: V) => number,
  ): Promise<V> {
    const cached = this.#entries.get(key);
    if (cached && cached.freshUntilMs > nowMs) return cached.value;
    let flight = this.#flights.get(key);
    if (!flight) {
      flight = fetch()
        .then((value) => {
          this.#entries.delete(key);
          this.#entries.set(key, { value, fetchedAtMs: nowMs, freshUntilMs: nowMs + freshForMs(value) });
          if (this.#entries.size > this.#maxEntries) {
            // Oldest first (insertion order): forgetting only costs a look-up.
            for (const oldest of this.#entries.keys()) {
              this.#entries.delete(oldest);
              if (this.#entries.size <= this.#maxEntries * 0.9) break;
            }
          }
          return value;
        })
        .finally(() => this.#flights.delete(key));
      this.#flights.set(key, flight);
    }
    return flight;
  }
}

export interface SessionCheckOptions {
  readonly sessionCacheMs?: number;
  readonly staleIfErrorMs?: number;
  /** Upper bound of an access token's life: how long a revoked answer may be kept. */
  readonly accessTokenTtlMs: number;
  readonly maxEntries?: number;
  readonly clock?: () => number;
  readonly logger: Logger;
}

/** Wraps the stateless JWT verifier with the cached session-status check. */
export function sessionCheckedVerifier(
  jwt: CredentialVerifier,
  identity: Pick<IdentityInternalClient, 'sessionStatus'>,
  options: SessionCheckOptions,
): CredentialVerifier {
  const cacheMs = options.sessionCacheMs ?? 1_000;
  const staleIfErrorMs = options.staleIfErrorMs ?? 30_000;
  const clock = options.clock ?? Date.now;
  const cache = new FlightCache<SessionStatus>(options.maxEntries ?? 100_000);
  return {
    kind: jwt.kind,
    recognizes: (credential) => jwt.recognizes(credential),
    async verify(credential, context) {
      const claimed = await jwt.verify(credential, context);
      if (!claimed || claimed.kind !== 'user' || !claimed.sessionId) return null;
      const key = `${claimed.userId}:${claimed.sessionId}`;
      const now = clock();
      let status: SessionStatus;
      try {
        status = await cache.load(
          key,
          now,
          () => identity.sessionStatus(claimed.userId, claimed.sessionId!),
          (value) => (value.active ? cacheMs : options.accessTokenTtlMs),
        );
      } catch (error) {
        const stale = cache.peek(key);
        if (
          error instanceof IdentityUnavailableError &&
          stale?.value.active &&
          now - stale.fetchedAtMs <= staleIfErrorMs
        ) {
          options.logger.warn('session check unavailable; using a recent answer', { error: error.message });
          status = stale.value;
        } else {
          options.logger.error('session check failed', { error });
          throw apiError('SERVICE_UNAVAILABLE', 'Sign-in cannot be checked right now; retry later.');
        }
      }
      if (!status.active || !status.role) return null;
      return { ...claimed, role: status.role };
    },
  };
}

export const apiKeySecretPattern = /^gxk_[A-Za-z0-9_-]{43}$/;

export interface ApiKeyVerifierOptions {
  readonly apiKeyCacheMs?: number;
  readonly negativeCacheMs?: number;
  readonly maxEntries?: number;
  readonly clock?: () => number;
  readonly logger: Logger;
}

/** API-key bearer credentials (`gxk_…`), verified by identity, cached briefly, checked at the edge. */
export function apiKeyVerifier(
  identity: Pick<IdentityInternalClient, 'verifyApiKey'>,
  options: ApiKeyVerifierOptions,
): CredentialVerifier {
  const cacheMs = options.apiKeyCacheMs ?? 5_000;
  const negativeMs = options.negativeCacheMs ?? 1_000;
  const clock = options.clock ?? Date.now;
  const cache = new FlightCache<ApiKeyGrant | null>(options.maxEntries ?? 50_000);
  return {
    kind: 'apiKey',
    recognizes: (credential) => credential.startsWith('gxk_'),
    async verify(credential, context) {
      if (!apiKeySecretPattern.test(credential)) return null;
      // The cache key is a hash: the gateway's memory never holds a table of usable secrets.
      const key = createHash('sha256').update(credential).digest('hex');
      const now = clock();
      let grant: ApiKeyGrant | null;
      try {
        grant = await cache.load(
          key,
          now,
          () => identity.verifyApiKey(credential),
          (value) => (value ? cacheMs : negativeMs),
        );
      } catch (error) {
        options.logger.error('api key check failed', { error });
        throw apiError('SERVICE_UNAVAILABLE', 'API keys cannot be checked right now; retry later.');
      }
      if (!grant) return null;
      if (grant.expiresAt !== null && Date.parse(grant.expiresAt) <= now) return null;
      if (!ipAllowed(grant.ipAllowlist, context.clientIp)) {
        options.logger.warn('api key used outside its IP allowlist', {
          apiKeyId: grant.apiKeyId,
          clientIp: context.clientIp,
        });
        throw apiError('FORBIDDEN', 'This API key may not be used from this IP address.', {
          http: { status: 403 },
        });
      }
      const result: Identity = {
        kind: 'apiKey',
        userId: grant.userId,
        // An API key never carries staff powers: a SUPPORT, COMPLIANCE or ADMIN's key acts as a
        // plain user of its owner's own account, so no subgraph's role check can grant it more.
        role: 'USER',
        apiKeyId: grant.apiKeyId,
        scopes: grant.scopes,
        persistedOnly: grant.persistedOnly,
      };
      return result;
    },
  };
}
