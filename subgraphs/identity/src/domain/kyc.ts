/**
 * KYC as an explicit state machine (DESIGN.md rule 7):
 *
 *   NONE ──submit──▶ PENDING ──approve──▶ APPROVED
 *                       │
 *                       └──reject──▶ REJECTED ──submit──▶ PENDING   (resubmission)
 *
 * Anything else is INVALID_STATE_TRANSITION, never a silent no-op. Tiers set the 24h withdrawal
 * limits: tier 0 (not approved) withdraws nothing, tier 1 is what the rules provider grants, tier 2
 * only a compliance officer grants.
 */
import type { KycStatus } from './user.ts';

export type KycEvent = 'SUBMIT' | 'APPROVE' | 'REJECT';

const transitions: Readonly<Record<KycStatus, Partial<Record<KycEvent, KycStatus>>>> = {
  NONE: { SUBMIT: 'PENDING' },
  PENDING: { APPROVE: 'APPROVED', REJECT: 'REJECTED' },
  APPROVED: {},
  REJECTED: { SUBMIT: 'PENDING' },
};

/** The next status, or null when `event` is not allowed in `status`. */
export function kycTransition(status: KycStatus, event: KycEvent): KycStatus | null {
  return transitions[status][event] ?? null;
}

export const kycTiers = [0, 1, 2] as const;
export type KycTier = (typeof kycTiers)[number];

/** 24h withdrawal limits per tier, in asset units (decimal strings, exact). */
export const withdrawalLimitsByTier: Readonly<Record<KycTier, Readonly<Record<string, string>>>> = {
  0: { BTC: '0', ETH: '0', USDT: '0' },
  1: { BTC: '2', ETH: '30', USDT: '50000' },
  2: { BTC: '50', ETH: '1000', USDT: '2000000' },
};

/** A row of `User.withdrawalLimits`. */
export interface WithdrawalLimitRow {
  readonly currency: string;
  readonly limit24h: string;
}

export const documentKinds = [
  'PASSPORT',
  'ID_CARD',
  'DRIVING_LICENSE',
  'SELFIE',
  'PROOF_OF_ADDRESS',
] as const;
export type DocumentKind = (typeof documentKinds)[number];
const identityDocuments: readonly DocumentKind[] = ['PASSPORT', 'ID_CARD', 'DRIVING_LICENSE'];
export const allowedContentTypes = ['image/jpeg', 'image/png', 'application/pdf'] as const;

export const kycLimits = {
  maxDocuments: 6,
  maxDocumentBytes: 10 * 1024 * 1024,
  maxTotalBytes: 25 * 1024 * 1024,
  maxNameLength: 100,
  maxAddressLength: 200,
  maxReasonLength: 500,
} as const;

export interface KycDocument {
  readonly kind: DocumentKind;
  /** Lower-case hex SHA-256 of the file's content (the file itself lives in document storage). */
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly contentType: string;
}

export interface KycSubmission {
  readonly firstName: string;
  readonly lastName: string;
  /** YYYY-MM-DD */
  readonly dateOfBirth: string;
  /** ISO 3166-1 alpha-2, upper case. */
  readonly country: string;
  readonly addressLine: string | null;
  readonly documents: readonly KycDocument[];
}

export interface KycInputShape {
  readonly firstName: string;
  readonly lastName: string;
  readonly dateOfBirth: string;
  readonly country: string;
  readonly addressLine?: string | null;
  readonly documents: ReadonlyArray<{ kind: string; sha256: string; sizeBytes: number; contentType: string }>;
}

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly field: string; readonly reason: string };

function isRealDate(text: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function cleanName(value: string): string {
  return value.normalize('NFC').trim().replace(/\s+/g, ' ');
}

/** Validates and normalises a submission; nothing is stored unless this passes. */
export function checkKycSubmission(input: KycInputShape, today: Date): Checked<KycSubmission> {
  const fail = (field: string, reason: string) => ({ ok: false as const, field, reason });
  const firstName = cleanName(input.firstName);
  const lastName = cleanName(input.lastName);
  for (const [field, value] of [
    ['firstName', firstName],
    ['lastName', lastName],
  ] as const) {
    if (value.length === 0 || value.length > kycLimits.maxNameLength)
      return fail(field, `${field} must be 1..${kycLimits.maxNameLength} characters.`);
    if (/[\p{Cc}\p{Cf}]/u.test(value)) return fail(field, `${field} contains control characters.`);
  }
  if (!isRealDate(input.dateOfBirth)) return fail('dateOfBirth', 'dateOfBirth must be a date YYYY-MM-DD.');
  if (input.dateOfBirth > today.toISOString().slice(0, 10) || input.dateOfBirth < '1900-01-01')
    return fail('dateOfBirth', 'dateOfBirth is not plausible.');
  const country = input.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) return fail('country', 'country must be an ISO 3166-1 alpha-2 code.');
  const addressLine = input.addressLine ? cleanName(input.addressLine) : null;
  if (addressLine !== null && addressLine.length > kycLimits.maxAddressLength)
    return fail('addressLine', `addressLine is at most ${kycLimits.maxAddressLength} characters.`);
  if (input.documents.length === 0 || input.documents.length > kycLimits.maxDocuments)
    return fail('documents', `Give 1..${kycLimits.maxDocuments} documents.`);
  const documents: KycDocument[] = [];
  let totalBytes = 0;
  for (const [index, document] of input.documents.entries()) {
    const field = `documents.${index}`;
    if (!(documentKinds as readonly string[]).includes(document.kind))
      return fail(`${field}.kind`, 'Unknown document kind.');
    const sha256 = document.sha256.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) return fail(`${field}.sha256`, 'sha256 must be 64 hex digits.');
    if (
      !Number.isSafeInteger(document.sizeBytes) ||
      document.sizeBytes <= 0 ||
      document.sizeBytes > kycLimits.maxDocumentBytes
    )
      return fail(`${field}.sizeBytes`, `A document is 1..${kycLimits.maxDocumentBytes} bytes.`);
    if (!(allowedContentTypes as readonly string[]).includes(document.contentType))
      return fail(`${field}.contentType`, `contentType must be one of ${allowedContentTypes.join(', ')}.`);
    if (documents.some((d) => d.sha256 === sha256))
      return fail(`${field}.sha256`, 'The same document is listed twice.');
    totalBytes += document.sizeBytes;
    documents.push({
      kind: document.kind as DocumentKind,
      sha256,
      sizeBytes: document.sizeBytes,
      contentType: document.contentType,
    });
  }
  if (totalBytes > kycLimits.maxTotalBytes)
    return fail('documents', `Documents total at most ${kycLimits.maxTotalBytes} bytes.`);
  return {
    ok: true,
    value: { firstName, lastName, dateOfBirth: input.dateOfBirth, country, addressLine, documents },
  };
}

/** What the local rules provider concludes; REVIEW leaves the case PENDING for a compliance officer. */
export type RulesDecision =
  | { readonly decision: 'APPROVE'; readonly tier: 1; readonly reason: string }
  | { readonly decision: 'REJECT'; readonly reason: string }
  | { readonly decision: 'REVIEW'; readonly reason: string };

/** Comprehensively sanctioned jurisdictions: always rejected. */
export const sanctionedCountries: readonly string[] = ['CU', 'IR', 'KP', 'SY'];
/** High-risk jurisdictions: a human reviews. */
export const reviewCountries: readonly string[] = ['AF', 'MM', 'RU', 'BY', 'VE'];

function ageInYears(dateOfBirth: string, today: Date): number {
  const [y, m, d] = dateOfBirth.split('-').map(Number) as [number, number, number];
  let age = today.getUTCFullYear() - y;
  if (today.getUTCMonth() + 1 < m || (today.getUTCMonth() + 1 === m && today.getUTCDate() < d)) age -= 1;
  return age;
}

/** The built-in provider's rules. Deterministic: same submission and day, same answer. */
export function decideByRules(submission: KycSubmission, today: Date): RulesDecision {
  if (ageInYears(submission.dateOfBirth, today) < 18) return { decision: 'REJECT', reason: 'UNDERAGE' };
  if (sanctionedCountries.includes(submission.country))
    return { decision: 'REJECT', reason: 'SANCTIONED_JURISDICTION' };
  if (!submission.documents.some((d) => identityDocuments.includes(d.kind)))
    return { decision: 'REJECT', reason: 'MISSING_IDENTITY_DOCUMENT' };
  if (!submission.documents.some((d) => d.kind === 'SELFIE'))
    return { decision: 'REJECT', reason: 'MISSING_SELFIE' };
  if (reviewCountries.includes(submission.country))
    return { decision: 'REVIEW', reason: 'HIGH_RISK_JURISDICTION' };
  return { decision: 'APPROVE', tier: 1, reason: 'RULES_PASSED' };
}
