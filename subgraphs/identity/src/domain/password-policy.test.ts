import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { characterClassOf, checkPassword, maxPasswordLength, minPasswordLength } from './password-policy.ts';

describe('password policy', () => {
  it('accepts long passwords that mix character classes', () => {
    expect(checkPassword('Correct-Horse-9')).toEqual([]);
    expect(checkPassword('correct horse battery staple')).toEqual([]);
    expect(checkPassword('mot de passe très long 7')).toEqual([]);
  });

  it('names every rule a password breaks', () => {
    expect(checkPassword('abc')).toEqual([
      'TOO_SHORT',
      'SINGLE_CHARACTER_CLASS',
      'TOO_FEW_DISTINCT_CHARACTERS',
    ]);
    expect(checkPassword('abcdefghij')).toEqual(['SINGLE_CHARACTER_CLASS']);
    expect(checkPassword('0123456789')).toEqual(['SINGLE_CHARACTER_CLASS']);
    expect(checkPassword('aaaaaaaaaaaaA1')).toEqual(['TOO_FEW_DISTINCT_CHARACTERS']);
    expect(checkPassword('Me@Example.com!', 'me@example.com')).toEqual(['CONTAINS_EMAIL']);
    expect(checkPassword('Aa1!'.repeat(40))).toEqual(['TOO_LONG', 'TOO_FEW_DISTINCT_CHARACTERS']);
  });

  it('counts code points, not UTF-16 units', () => {
    // 9 emoji are 18 UTF-16 units but 9 characters: too short.
    expect(checkPassword('😀😁😂🤣😃😄😅😆1')).toContain('TOO_SHORT');
    expect(checkPassword('😀😁😂🤣😃😄😅😆12')).toEqual([]);
  });

  it('classifies characters', () => {
    expect(['a', 'Z', '7', '-', 'é', 'É', '٣'].map(characterClassOf)).toEqual([
      'lower',
      'upper',
      'digit',
      'other',
      'lower',
      'upper',
      'digit',
    ]);
  });

  it('never accepts a password shorter than the minimum or longer than the maximum', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (password) => {
        const length = Array.from(password).length;
        const violations = checkPassword(password);
        if (length < minPasswordLength) expect(violations).toContain('TOO_SHORT');
        if (length > maxPasswordLength) expect(violations).toContain('TOO_LONG');
        if (violations.length === 0) expect(length).toBeGreaterThanOrEqual(minPasswordLength);
      }),
    );
  });
});
