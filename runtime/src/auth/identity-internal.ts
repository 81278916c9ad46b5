/**
 * Identity's internal HTTP endpoints (not GraphQL, not routed by the gateway) and their client.
 * Callers prove they are a platform service with a service token (`service-token.ts`).
 *
 *   POST /internal/sessions/status        { userId, sessionId }  → { active, role }
 *   POST /internal/api-keys/verify        { secret }             → { key: ApiKeyGrant | null }
 *   POST /internal/two-factor/verify      { userId, code, purpose } → { outcome }
 *   POST /internal/users/withdrawal-policy { userId }            → WithdrawalPolicy
 *
 * The gateway uses the first two to authenticate (session revocation, API keys); wallets uses the
 * last two for withdrawals (issue 6): a withdrawal needs a fresh TOTP code (single-use, shared
 * replay guard with login) and the user's KYC tier limits.
 */
import type { ApiKeyScope, Role } from './identity.ts';
import { serviceTokenHeader, signServiceToken } from './service-token.ts';

export const identityInternalPaths = {
  sessionStatus: '/internal/sessions/status',
  verifyApiKey: '/internal/api-keys/verify',
  verifyTwoFactor: '/internal/two-factor/verify',
  withdrawalPolicy: '/internal/users/withdrawal-policy',
} as const;

export interface SessionStatus {
  readonly active: boolean;
  /** The user's current role (a role change applies without waiting for the token to expire). */
  readonly role: Role | null;
}

export interface ApiKeyGrant {
  readonly apiKeyId: string;
  readonly userId: string;
  readonly role: Role;
  readonly scopes: readonly ApiKeyScope[];
  readonly persistedOnly: boolean;
  /** Addresses or CIDR blocks the key may be used from; empty = anywhere. */
  readonly ipAllowlist: readonly string[];
  readonly expiresAt: string | null;
}

export type TwoFactorPurpose = 'WITHDRAWAL' | 'API_KEY' | 'LOGIN';
/**
 * `LOCKED`: too many wrong codes for this user recently (5 in 15 min through this endpoint); refuse
 * the operation (ACCOUNT_LOCKED) without telling whether this code was right.
 */
export type TwoFactorOutcome = 'OK' | 'NOT_ENABLED' | 'INVALID' | 'LOCKED';

export interface WithdrawalLimit {
  readonly currency: string;
  /** Decimal string in the asset's units; "0" = no withdrawals. */
  readonly limit24h: string;
}

export interface WithdrawalPolicy {
  readonly kycStatus: 'NONE' | 'PENDING' | 'APPROVED' | 'REJECTED';
  readonly kycTier: number;
  readonly twoFactorEnabled: boolean;
  readonly limits: readonly WithdrawalLimit[];
}

export interface IdentityInternalClient {
  sessionStatus(userId: string, sessionId: string): Promise<SessionStatus>;
  verifyApiKey(secret: string): Promise<ApiKeyGrant | null>;
  verifyTwoFactor(userId: string, code: string, purpose: TwoFactorPurpose): Promise<TwoFactorOutcome>;
  withdrawalPolicy(userId: string): Promise<WithdrawalPolicy | null>;
}

export interface IdentityInternalClientOptions {
  /** Identity's GraphQL URL (`subgraphUrl('identity')`); internal paths are resolved against it. */
  readonly identityUrl: string;
  readonly internalTokenSecret: string;
  /** Name of the calling service, recorded by identity. */
  readonly service: string;
  readonly timeoutMs?: number;
}

export class IdentityUnavailableError extends Error {
  override name = 'IdentityUnavailableError';
}

export function createIdentityInternalClient(options: IdentityInternalClientOptions): IdentityInternalClient {
  const timeoutMs = options.timeoutMs ?? 2_000;
  let token: { value: Promise<string>; renewAtMs: number } | undefined;
  const serviceToken = () => {
    const now = Date.now();
    if (!token || token.renewAtMs <= now) {
      token = {
        value: signServiceToken(options.service, options.internalTokenSecret, 120),
        renewAtMs: now + 60_000,
      };
    }
    return token.value;
  };
  async function post<T>(path: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, options.identityUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [serviceTokenHeader]: await serviceToken() },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new IdentityUnavailableError(`identity unreachable: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new IdentityUnavailableError(`identity answered HTTP ${response.status} on ${path}`);
    }
    return (await response.json()) as T;
  }
  return {
    sessionStatus: (userId, sessionId) => post(identityInternalPaths.sessionStatus, { userId, sessionId }),
    verifyApiKey: async (secret) =>
      (await post<{ key: ApiKeyGrant | null }>(identityInternalPaths.verifyApiKey, { secret })).key,
    verifyTwoFactor: async (userId, code, purpose) =>
      (
        await post<{ outcome: TwoFactorOutcome }>(identityInternalPaths.verifyTwoFactor, {
          userId,
          code,
          purpose,
        })
      ).outcome,
    withdrawalPolicy: async (userId) =>
      (await post<{ policy: WithdrawalPolicy | null }>(identityInternalPaths.withdrawalPolicy, { userId }))
        .policy,
  };
}
