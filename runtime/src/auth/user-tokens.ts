/**
 * User access tokens: short-lived HS256 JWTs issued by the identity subgraph and verified by the
 * gateway. Refresh tokens are opaque random secrets stored hashed by identity (not JWTs).
 */
import { roles, type Role } from './identity.ts';
import { signHs256, verifyHs256 } from './jwt.ts';

const issuer = 'graphex-identity';
const audience = 'graphex-api';

export interface AccessTokenClaims {
  readonly userId: string;
  readonly role: Role;
  readonly sessionId: string;
}

export async function signAccessToken(
  claims: AccessTokenClaims,
  secret: string,
  ttlSeconds: number,
): Promise<string> {
  return signHs256({ role: claims.role, sid: claims.sessionId, sub: claims.userId }, secret, {
    issuer,
    audience,
    ttlSeconds,
  });
}

/** Returns the claims, or `null` for anything not a valid, unexpired access token of ours. */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessTokenClaims | null> {
  const verified = verifyHs256(token, secret, { issuer, audience });
  if (!verified.ok) return null;
  const { sub, role, sid: sessionId } = verified.payload;
  if (typeof sub !== 'string' || typeof sessionId !== 'string') return null;
  if (typeof role !== 'string' || !(roles as readonly string[]).includes(role)) return null;
  return { userId: sub, role: role as Role, sessionId };
}
