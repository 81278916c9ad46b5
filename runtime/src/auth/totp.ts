/**
 * TOTP (RFC 6238) over HOTP (RFC 4226): HMAC-SHA1, 6 digits, 30-second steps, written on
 * node:crypto so no dependency holds an account's second factor. Pure: the caller supplies the time
 * and keeps the last accepted step (replay protection lives with the secret, in identity).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const totpStepSeconds = 30;
export const totpDigits = 6;
/** Steps accepted either side of now (clock drift between phone and server). */
export const totpWindowSteps = 1;
const secretBytes = 20;
const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (what authenticator apps expect in `secret=`). */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = base32Alphabet.indexOf(char);
    if (index < 0) throw new RangeError('not base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new random 160-bit secret, base32. */
export function newTotpSecret(): string {
  return base32Encode(randomBytes(secretBytes));
}

/** The time step containing `atMs`. */
export function totpStep(atMs: number): number {
  return Math.floor(atMs / 1000 / totpStepSeconds);
}

/** HOTP value for `counter` (RFC 4226 section 5.3, dynamic truncation). */
export function hotp(secret: Buffer, counter: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac('sha1', secret).update(message).digest();
  const offset = digest[digest.length - 1]! & 0x0f;
  const binary =
    ((digest[offset]! & 0x7f) << 24) |
    (digest[offset + 1]! << 16) |
    (digest[offset + 2]! << 8) |
    digest[offset + 3]!;
  return String(binary % 10 ** totpDigits).padStart(totpDigits, '0');
}

/** The code an authenticator app shows at `atMs` for a base32 secret (also used by tests and bots). */
export function totpCode(secretBase32: string, atMs: number = Date.now()): string {
  return hotp(base32Decode(secretBase32), totpStep(atMs));
}

/**
 * The step whose code matches `code` within ±`totpWindowSteps` of `atMs` and is newer than
 * `lastUsedStep`, or null. Refusing steps at or before the last accepted one makes every code
 * single-use (RFC 6238 section 5.2) — including older codes of the window.
 */
export function matchTotp(
  secretBase32: string,
  code: string,
  atMs: number,
  lastUsedStep: number | null,
): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const secret = base32Decode(secretBase32);
  const now = totpStep(atMs);
  const given = Buffer.from(code);
  let matched: number | null = null;
  // Every candidate is computed and compared in constant time: no early exit reveals which step hit.
  for (let step = now - totpWindowSteps; step <= now + totpWindowSteps; step++) {
    const equal = timingSafeEqual(Buffer.from(hotp(secret, step)), given);
    if (equal && (lastUsedStep === null || step > lastUsedStep) && matched === null) matched = step;
  }
  return matched;
}

/** `otpauth://` provisioning URI (Google Authenticator key-URI format) for QR codes. */
export function totpProvisioningUri(secretBase32: string, accountName: string, issuer = 'GraphEx'): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  const params = new URLSearchParams({
    secret: secretBase32,
    issuer,
    algorithm: 'SHA1',
    digits: String(totpDigits),
    period: String(totpStepSeconds),
  });
  return `otpauth://totp/${label}?${params.toString()}`;
}
