/**
 * Identity as the subgraphs see it. The gateway authenticates the caller (user JWT or API key) and
 * forwards an `Identity` to every subgraph as a short-lived token signed with INTERNAL_TOKEN_SECRET
 * (DESIGN.md rule 9). Subgraphs trust nothing else.
 */
import { apiError } from '@graphex/schema';
import { signHs256, verifyHs256 } from './jwt.ts';

export const roles = ['USER', 'SUPPORT', 'COMPLIANCE', 'ADMIN'] as const;
export type Role = (typeof roles)[number];

export const apiKeyScopes = ['READ', 'TRADE', 'WITHDRAW'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export type Identity =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user';
      readonly userId: string;
      readonly role: Role;
      readonly sessionId: string | null;
    }
  | {
      readonly kind: 'apiKey';
      readonly userId: string;
      readonly role: Role;
      readonly apiKeyId: string;
      readonly scopes: readonly ApiKeyScope[];
      readonly persistedOnly: boolean;
    };

export const anonymous: Identity = Object.freeze({ kind: 'anonymous' });

/** HTTP header (and graphql-ws extension) carrying the gateway-signed identity. */
export const internalIdentityHeader = 'x-graphex-identity';
/** HTTP header carrying the request id, generated at the edge and logged by every service. */
export const requestIdHeader = 'x-request-id';

const issuer = 'graphex-gateway';
const audience = 'graphex-subgraph';

export async function signInternalIdentity(
  identity: Identity,
  secret: string,
  ttlSeconds: number,
): Promise<string> {
  return signHs256({ idt: identity }, secret, { issuer, audience, ttlSeconds });
}

function isIdentity(value: unknown): value is Identity {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v['kind'] === 'anonymous') return true;
  const roleOk = typeof v['role'] === 'string' && (roles as readonly string[]).includes(v['role']);
  if (v['kind'] === 'user') return typeof v['userId'] === 'string' && roleOk;
  if (v['kind'] === 'apiKey') {
    return (
      typeof v['userId'] === 'string' &&
      roleOk &&
      typeof v['apiKeyId'] === 'string' &&
      Array.isArray(v['scopes']) &&
      v['scopes'].every((s) => (apiKeyScopes as readonly unknown[]).includes(s)) &&
      typeof v['persistedOnly'] === 'boolean'
    );
  }
  return false;
}

/**
 * Verifies the gateway-signed identity token. Anything missing, forged, expired or malformed is
 * `UNAUTHENTICATED` — a subgraph reached directly answers nothing else.
 */
export async function verifyInternalIdentity(token: string | undefined, secret: string): Promise<Identity> {
  if (!token)
    throw apiError('UNAUTHENTICATED', 'Missing gateway identity: subgraphs are reached through the gateway.');
  const verified = verifyHs256(token, secret, { issuer, audience });
  if (!verified.ok) throw apiError('UNAUTHENTICATED', 'Invalid or expired gateway identity.');
  const identity = verified.payload['idt'];
  if (!isIdentity(identity)) throw apiError('UNAUTHENTICATED', 'Malformed gateway identity.');
  return identity;
}

/** The user id behind an identity, or `UNAUTHENTICATED`. */
export function requireUser(identity: Identity): { userId: string; role: Role } {
  if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
  return { userId: identity.userId, role: identity.role };
}

/** Requires one of `allowed` roles (`FORBIDDEN` otherwise). */
export function requireRole(identity: Identity, ...allowed: Role[]): { userId: string; role: Role } {
  const user = requireUser(identity);
  if (!allowed.includes(user.role)) throw apiError('FORBIDDEN', `Requires role ${allowed.join(' or ')}.`);
  return user;
}
