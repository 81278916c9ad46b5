/**
 * Compact HS256 JSON Web Tokens (RFC 7519 with the RFC 7515 compact serialisation), signed and
 * verified synchronously with `node:crypto`. Every request crosses two or three of these (the
 * caller's access token at the gateway, the gateway-signed identity at each subgraph); WebCrypto's
 * asynchronous HMAC costs a thread-pool job and a promise per token, this a few microseconds.
 *
 * Only what the platform issues is accepted: header `alg` exactly `HS256` (never `none` or another
 * algorithm), no `crit` extensions, a 32-byte signature compared in constant time, a JSON object
 * payload with the expected `iss`, the expected `aud` (string or array), a numeric `exp` in the
 * future, and `nbf`/`iat` numeric when present (`nbf` not in the future). Tokens are interchangeable
 * with other JWT libraries' HS256 tokens (the tests check both directions with `jose`).
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export interface JwtExpectations {
  readonly issuer: string;
  readonly audience: string;
  /** Seconds since the epoch; defaults to the clock. */
  readonly now?: number;
}

export type JwtPayload = Readonly<Record<string, unknown>>;

/** Why a token was refused (for logs and tests; callers answer the same error for all). */
export type JwtRefusal = 'malformed' | 'algorithm' | 'signature' | 'claims' | 'expired';

export type JwtVerification =
  { readonly ok: true; readonly payload: JwtPayload } | { readonly ok: false; readonly reason: JwtRefusal };

const encodedHeader = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const base64UrlPattern = /^[A-Za-z0-9_-]*$/;
/** Longest token accepted (a header line has bounded room anyway); bounds the work per token. */
const maxTokenLength = 8_192;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Imported keys by secret (a process holds one or two secrets). */
const keys = new Map<string, KeyObject>();

function hmac(secret: string, signingInput: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= 16) keys.clear();
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return createHmac('sha256', key).update(signingInput).digest();
}

/**
 * Signs `claims` with `iss`, `aud`, `iat` = now and `exp` = now + `ttlSeconds` (those four override
 * claims of the same name).
 */
export function signHs256(
  claims: JwtPayload,
  secret: string,
  options: {
    readonly issuer: string;
    readonly audience: string;
    readonly ttlSeconds: number;
    readonly now?: number;
  },
): string {
  // Zero or negative lifetimes give already-expired tokens (tests of refusal paths).
  if (!Number.isSafeInteger(options.ttlSeconds))
    throw new Error(`JWT ttlSeconds must be an integer, got ${options.ttlSeconds}.`);
  const iat = options.now ?? nowSeconds();
  const payload = {
    ...claims,
    iss: options.issuer,
    aud: options.audience,
    iat,
    exp: iat + options.ttlSeconds,
  };
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${signingInput}.${hmac(secret, signingInput).toString('base64url')}`;
}

function parseObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export function verifyHs256(token: string, secret: string, expected: JwtExpectations): JwtVerification {
  if (typeof token !== 'string' || token.length > maxTokenLength) return { ok: false, reason: 'malformed' };
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot <= 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0)
    return { ok: false, reason: 'malformed' };
  const headerPart = token.slice(0, firstDot);
  const payloadPart = token.slice(firstDot + 1, secondDot);
  const signaturePart = token.slice(secondDot + 1);
  if (
    !base64UrlPattern.test(headerPart) ||
    !base64UrlPattern.test(payloadPart) ||
    !base64UrlPattern.test(signaturePart)
  )
    return { ok: false, reason: 'malformed' };
  const header = parseObject(headerPart);
  if (!header) return { ok: false, reason: 'malformed' };
  if (header['alg'] !== 'HS256' || header['crit'] !== undefined) return { ok: false, reason: 'algorithm' };
  const signature = Buffer.from(signaturePart, 'base64url');
  const expectedSignature = hmac(secret, token.slice(0, secondDot));
  if (signature.length !== expectedSignature.length || !timingSafeEqual(signature, expectedSignature))
    return { ok: false, reason: 'signature' };
  const payload = parseObject(payloadPart);
  if (!payload) return { ok: false, reason: 'malformed' };
  const { iss, aud, exp, nbf, iat } = payload;
  if (iss !== expected.issuer) return { ok: false, reason: 'claims' };
  const audienceOk = Array.isArray(aud) ? aud.includes(expected.audience) : aud === expected.audience;
  if (!audienceOk) return { ok: false, reason: 'claims' };
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return { ok: false, reason: 'claims' };
  if ((iat !== undefined && typeof iat !== 'number') || (nbf !== undefined && typeof nbf !== 'number'))
    return { ok: false, reason: 'claims' };
  const now = expected.now ?? nowSeconds();
  if (exp <= now) return { ok: false, reason: 'expired' };
  if (typeof nbf === 'number' && nbf > now) return { ok: false, reason: 'claims' };
  return { ok: true, payload };
}
