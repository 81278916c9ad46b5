import { describe, expect, it } from 'vitest';
import { checkEmail, normalizeEmail } from './email.ts';

describe('email', () => {
  it('normalises by trimming and lower-casing', () => {
    expect(normalizeEmail('  Alice.Smith+Tag@Example.COM\t')).toBe('alice.smith+tag@example.com');
    expect(checkEmail(' A@Example.io ')).toEqual({ ok: true, email: 'a@example.io' });
  });

  it('accepts ordinary and punycode addresses', () => {
    for (const email of [
      'x@example.com',
      "o'neil@sub.example.co.uk",
      'a_b-c@xn--bcher-kva.example',
      'u@host.xn--p1ai',
    ]) {
      expect(checkEmail(email).ok, email).toBe(true);
    }
  });

  it('refuses malformed addresses with a reason', () => {
    const bad = [
      '',
      'plain',
      '@example.com',
      'a@',
      'a@b',
      'a@@b.com',
      'a b@example.com',
      '.a@example.com',
      'a..b@example.com',
      'a@-example.com',
      'a@example-.com',
      'a@example.c0m',
      'ü@example.com',
      `${'a'.repeat(65)}@example.com`,
      `a@${'b'.repeat(250)}.com`,
    ];
    for (const email of bad) {
      const result = checkEmail(email);
      expect(result.ok, email).toBe(false);
      if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
    }
  });
});
