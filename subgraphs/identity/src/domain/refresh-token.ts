/**
 * Refresh tokens: opaque random secrets. Only their SHA-256 is stored, so a database leak does not
 * leak usable tokens; 256 bits of randomness make a plain (unsalted) hash sufficient.
 */
import { createHash, randomBytes } from 'node:crypto';

const prefix = 'gxr_';
const secretBytes = 32;
const tokenPattern = /^gxr_[A-Za-z0-9_-]{43}$/;

/** A new refresh token secret (given to the client once) and the hash to store. */
export function newRefreshToken(): { readonly token: string; readonly tokenHash: string } {
  const token = prefix + randomBytes(secretBytes).toString('base64url');
  return { token, tokenHash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Cheap shape check before touching the database. */
export function looksLikeRefreshToken(token: string): boolean {
  return tokenPattern.test(token);
}
