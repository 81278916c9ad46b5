/**
 * User access tokens: short-lived HS256 JWTs issued by the identity subgraph and verified by the
 * gateway. Refresh tokens are opaque random secrets stored hashed by identity (not JWTs).
 */
import { SignJWT, jwtVerify } from 'jose';
import { roles, type Role } from './identity.ts';

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
  return new SignJWT({ role: claims.role, sid: claims.sessionId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}

/** Returns the claims, or `null` for anything not a valid, unexpired access token of ours. */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessTokenClaims | null> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      issuer,
      audience,
      algorithms: ['HS256'],
    });
    const role = payload['role'];
    const sessionId = payload['sid'];
    if (typeof payload.sub !== 'string' || typeof sessionId !== 'string') return null;
    if (typeof role !== 'string' || !(roles as readonly string[]).includes(role)) return null;
    return { userId: payload.sub, role: role as Role, sessionId };
  } catch {
    return null;
  }
}
