/**
 * Email addresses as identity stores them: trimmed, NFC-normalised, lower-case, ASCII only
 * (internationalised domains in their punycode `xn--` form). One account per normalised address.
 */

/** RFC 5321 limits: 64 octets of local part, 254 for the whole forward path. */
export const maxEmailLength = 254;
export const maxLocalPartLength = 64;

const localPartPattern = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const topLevelPattern = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

export type EmailCheck =
  { readonly ok: true; readonly email: string } | { readonly ok: false; readonly reason: string };

/** Normalises an email address for storage and lookup; does not validate it. */
export function normalizeEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase();
}

/** Normalises and validates an address; the refusal reason is safe to show to the user. */
export function checkEmail(raw: string): EmailCheck {
  const email = normalizeEmail(raw);
  if (email.length === 0) return { ok: false, reason: 'Email is required.' };
  if (email.length > maxEmailLength)
    return { ok: false, reason: `Email is longer than ${maxEmailLength} characters.` };
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1)
    return { ok: false, reason: 'Email must look like name@example.com.' };
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > maxLocalPartLength) {
    return { ok: false, reason: `The part before @ is longer than ${maxLocalPartLength} characters.` };
  }
  if (!localPartPattern.test(local)) return { ok: false, reason: 'Email must look like name@example.com.' };
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => domainLabelPattern.test(label))) {
    return { ok: false, reason: 'The email domain is not a valid host name.' };
  }
  if (!topLevelPattern.test(labels[labels.length - 1]!)) {
    return { ok: false, reason: 'The email domain is not a valid host name.' };
  }
  return { ok: true, email };
}
