/**
 * Service-to-service credentials: a service (the gateway, wallets) calls identity's internal HTTP
 * endpoints with a short-lived HS256 token signed with INTERNAL_TOKEN_SECRET, naming the calling
 * service. Distinct issuer/audience from user access tokens and internal identity tokens, so none of
 * them can be replayed as another.
 */
import { SignJWT, jwtVerify } from 'jose';

export const serviceTokenHeader = 'x-graphex-service';
const issuer = 'graphex-service';
const audience = 'graphex-internal';

export async function signServiceToken(service: string, secret: string, ttlSeconds = 60): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(service)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}

/** The calling service's name, or null for anything not a valid, unexpired service token. */
export async function verifyServiceToken(token: string | undefined, secret: string): Promise<string | null> {
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      issuer,
      audience,
      algorithms: ['HS256'],
    });
    return typeof payload.sub === 'string' ? payload.sub : null;
  } catch {
    return null;
  }
}
