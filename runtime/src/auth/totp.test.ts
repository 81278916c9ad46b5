import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  base32Decode,
  base32Encode,
  hotp,
  matchTotp,
  newTotpSecret,
  totpCode,
  totpProvisioningUri,
} from './totp.ts';

// RFC 6238 appendix B uses the ASCII secret "12345678901234567890" with 8 digits; its SHA-1 vectors
// truncated to our 6 digits are the last 6 digits of the published values.
const rfcSecret = base32Encode(Buffer.from('12345678901234567890', 'ascii'));

describe('TOTP (RFC 6238)', () => {
  it.each([
    [59, '287082'],
    [1111111109, '081804'],
    [1111111111, '050471'],
    [1234567890, '005924'],
    [2000000000, '279037'],
    [20000000000, '353130'],
  ])('matches the RFC test vector at T=%i', (seconds, expected) => {
    expect(totpCode(rfcSecret, seconds * 1000)).toBe(expected);
  });

  it('matches RFC 4226 HOTP vectors', () => {
    const secret = Buffer.from('12345678901234567890', 'ascii');
    expect([0, 1, 2, 9].map((c) => hotp(secret, c))).toEqual(['755224', '287082', '359152', '520489']);
  });

  it('round-trips base32', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect([...base32Decode(base32Encode(bytes))]).toEqual([...bytes]);
      }),
    );
  });

  it('accepts ±1 step, refuses further drift, malformed codes and reuse of a step', () => {
    const secret = newTotpSecret();
    const now = 1_800_000_000_000;
    const step = Math.floor(now / 30_000);
    expect(matchTotp(secret, totpCode(secret, now), now, null)).toBe(step);
    expect(matchTotp(secret, totpCode(secret, now - 30_000), now, null)).toBe(step - 1);
    expect(matchTotp(secret, totpCode(secret, now + 30_000), now, null)).toBe(step + 1);
    const farCode = totpCode(secret, now - 90_000);
    if (![-1, 0, 1].some((d) => totpCode(secret, now + d * 30_000) === farCode))
      expect(matchTotp(secret, farCode, now, null)).toBeNull();
    expect(matchTotp(secret, totpCode(secret, now), now, step)).toBeNull();
    // An older code of the window is refused once a newer step was used.
    const previous = totpCode(secret, now - 30_000);
    if (previous !== totpCode(secret, now + 30_000))
      expect(matchTotp(secret, previous, now, step)).toBeNull();
    expect(matchTotp(secret, '12345', now, null)).toBeNull();
    expect(matchTotp(secret, 'abcdef', now, null)).toBeNull();
  });

  it('builds an otpauth provisioning URI', () => {
    const uri = new URL(totpProvisioningUri('JBSWY3DPEHPK3PXP', 'a@b.test'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe('JBSWY3DPEHPK3PXP');
    expect(uri.searchParams.get('period')).toBe('30');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/GraphEx:a@b.test');
  });
});
