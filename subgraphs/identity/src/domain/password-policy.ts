/**
 * Password policy for new passwords. Simple rules that stop the worst choices without forcing
 * users into patterns: a minimum length, more than one kind of character, enough distinct
 * characters, and not the email address itself. Lengths count Unicode code points, not UTF-16 units.
 */

export const minPasswordLength = 10;
/** Upper bound keeps hashing cost bounded (argon2 reads the whole input). */
export const maxPasswordLength = 128;
export const minCharacterClasses = 2;
export const minDistinctCharacters = 5;

export type CharacterClass = 'lower' | 'upper' | 'digit' | 'other';

export type PasswordViolation =
  'TOO_SHORT' | 'TOO_LONG' | 'SINGLE_CHARACTER_CLASS' | 'TOO_FEW_DISTINCT_CHARACTERS' | 'CONTAINS_EMAIL';

export const passwordViolationMessages: Readonly<Record<PasswordViolation, string>> = {
  TOO_SHORT: `Password must be at least ${minPasswordLength} characters long.`,
  TOO_LONG: `Password must be at most ${maxPasswordLength} characters long.`,
  SINGLE_CHARACTER_CLASS:
    'Password must mix at least two kinds of characters: lower-case, upper-case, digits, symbols.',
  TOO_FEW_DISTINCT_CHARACTERS: `Password must use at least ${minDistinctCharacters} different characters.`,
  CONTAINS_EMAIL: 'Password must not contain your email address.',
};

export function characterClassOf(char: string): CharacterClass {
  if (/^\p{Ll}$/u.test(char)) return 'lower';
  if (/^\p{Lu}$/u.test(char)) return 'upper';
  if (/^\p{Nd}$/u.test(char)) return 'digit';
  return 'other';
}

/** Every rule the password breaks, in a stable order; empty when it is acceptable. */
export function checkPassword(password: string, email?: string): PasswordViolation[] {
  const chars = Array.from(password);
  const violations: PasswordViolation[] = [];
  if (chars.length < minPasswordLength) violations.push('TOO_SHORT');
  if (chars.length > maxPasswordLength) violations.push('TOO_LONG');
  if (new Set(chars.map(characterClassOf)).size < minCharacterClasses)
    violations.push('SINGLE_CHARACTER_CLASS');
  if (new Set(chars).size < minDistinctCharacters) violations.push('TOO_FEW_DISTINCT_CHARACTERS');
  if (email && email.length > 0 && password.toLowerCase().includes(email.toLowerCase())) {
    violations.push('CONTAINS_EMAIL');
  }
  return violations;
}
