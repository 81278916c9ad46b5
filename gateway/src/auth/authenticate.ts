/**
 * Authentication at the edge: `Authorization: Bearer <credential>` becomes an `Identity`.
 *
 * No header means anonymous. A header that is present but not a valid credential is
 * `UNAUTHENTICATED` — never a silent downgrade to anonymous, or a client with an expired token would
 * see "no orders" instead of "sign in again".
 *
 * Each credential kind (user JWTs, API keys) is a `CredentialVerifier`; the first one that
 * recognises the credential's shape decides. The stateless JWT check here is wrapped by
 * `sessionCheckedVerifier` (session revocation) and API keys by `apiKeyVerifier`.
 */
import { apiError } from '@graphex/schema';
import { verifyAccessToken, anonymous, type Identity } from '@graphex/runtime';

/** What the edge knows about the request a credential arrived with. */
export interface CredentialContext {
  /** The client's address as the gateway sees it (see `clientIpOf`). */
  readonly clientIp?: string | undefined;
}

export interface CredentialVerifier {
  /** Name for logs: `jwt`, `apiKey`. */
  readonly kind: string;
  /** Whether the credential has this verifier's shape (cheap, no I/O). */
  recognizes(credential: string): boolean;
  /** The identity behind a valid credential, `null` for an invalid, expired or revoked one. */
  verify(credential: string, context: CredentialContext): Promise<Identity | null>;
}

export type Authenticator = (
  authorization: string | undefined,
  context?: CredentialContext,
) => Promise<Identity>;

/** Longest credential looked at; JWTs and API keys are far shorter. */
export const maxCredentialLength = 4096;
/** RFC 6750 `b64token`. */
const bearerCredential = /^[A-Za-z0-9\-._~+/]+=*$/;
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** User access tokens (HS256 JWTs issued by identity, see runtime `signAccessToken`). */
export function userAccessTokenVerifier(jwtSecret: string): CredentialVerifier {
  return {
    kind: 'jwt',
    recognizes: (credential) => compactJws.test(credential),
    async verify(credential) {
      const claims = await verifyAccessToken(credential, jwtSecret);
      if (!claims) return null;
      return { kind: 'user', userId: claims.userId, role: claims.role, sessionId: claims.sessionId };
    },
  };
}

/** Builds the authenticator from the verifiers, tried in order. */
export function createAuthenticator(verifiers: readonly CredentialVerifier[]): Authenticator {
  return async (authorization, context = {}) => {
    if (authorization === undefined) return anonymous;
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) {
      throw apiError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>".');
    }
    const credential = match[1]!;
    if (credential.length > maxCredentialLength || !bearerCredential.test(credential)) {
      throw apiError('UNAUTHENTICATED', 'The bearer token is malformed.');
    }
    const verifier = verifiers.find((candidate) => candidate.recognizes(credential));
    const identity = verifier ? await verifier.verify(credential, context) : null;
    if (!identity)
      throw apiError('UNAUTHENTICATED', 'The bearer token is invalid or expired; sign in again.');
    return identity;
  };
}
