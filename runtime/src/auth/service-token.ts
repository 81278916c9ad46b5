/**
 * Service-to-service credentials: a service (the gateway, wallets) calls identity's internal HTTP
 * endpoints with a short-lived HS256 token signed with INTERNAL_TOKEN_SECRET, naming the calling
 * service. Distinct issuer/audience from user access tokens and internal identity tokens, so none of
 * them can be replayed as another.
 */
import { signHs256, verifyHs256 } from './jwt.ts';

export const serviceTokenHeader = 'x-graphex-service';
const issuer = 'graphex-service';
const audience = 'graphex-internal';

export async function signServiceToken(service: string, secret: string, ttlSeconds = 60): Promise<string> {
  return signHs256({ sub: service }, secret, { issuer, audience, ttlSeconds });
}

/** The calling service's name, or null for anything not a valid, unexpired service token. */
export async function verifyServiceToken(token: string | undefined, secret: string): Promise<string | null> {
  if (!token) return null;
  const verified = verifyHs256(token, secret, { issuer, audience });
  if (!verified.ok) return null;
  const subject = verified.payload['sub'];
  return typeof subject === 'string' ? subject : null;
}
