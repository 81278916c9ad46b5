import { describe, expect, it } from 'vitest';
import { checkKycSubmission, decideByRules, kycTransition, type KycInputShape } from './kyc.ts';
import { kycStatuses } from './user.ts';

const today = new Date('2026-06-01T00:00:00Z');
const doc = (kind: string, n: number) => ({
  kind,
  sha256: String(n).repeat(64).slice(0, 64),
  sizeBytes: 10,
  contentType: 'image/png',
});
const input = (overrides: Partial<KycInputShape> = {}): KycInputShape => ({
  firstName: ' Ada ',
  lastName: 'Lovelace',
  dateOfBirth: '1990-01-01',
  country: 'gb',
  documents: [doc('PASSPORT', 1), doc('SELFIE', 2)],
  ...overrides,
});

describe('KYC state machine', () => {
  it('allows exactly NONE→PENDING, PENDING→APPROVED|REJECTED, REJECTED→PENDING', () => {
    const allowed: string[] = [];
    for (const status of kycStatuses)
      for (const event of ['SUBMIT', 'APPROVE', 'REJECT'] as const) {
        const next = kycTransition(status, event);
        if (next) allowed.push(`${status}-${event}->${next}`);
      }
    expect(allowed.sort()).toEqual([
      'NONE-SUBMIT->PENDING',
      'PENDING-APPROVE->APPROVED',
      'PENDING-REJECT->REJECTED',
      'REJECTED-SUBMIT->PENDING',
    ]);
  });
});

describe('KYC submissions and rules', () => {
  it('normalises a valid submission', () => {
    const checked = checkKycSubmission(input(), today);
    expect(checked).toMatchObject({ ok: true, value: { firstName: 'Ada', country: 'GB' } });
  });

  it('decides by age, jurisdiction and documents', () => {
    const decide = (overrides: Partial<KycInputShape>) => {
      const checked = checkKycSubmission(input(overrides), today);
      if (!checked.ok) throw new Error(checked.reason);
      return decideByRules(checked.value, today);
    };
    expect(decide({})).toMatchObject({ decision: 'APPROVE', tier: 1 });
    expect(decide({ dateOfBirth: '2008-06-02' })).toMatchObject({ decision: 'REJECT', reason: 'UNDERAGE' });
    expect(decide({ dateOfBirth: '2008-06-01' })).toMatchObject({ decision: 'APPROVE' });
    expect(decide({ country: 'KP' })).toMatchObject({
      decision: 'REJECT',
      reason: 'SANCTIONED_JURISDICTION',
    });
    expect(decide({ country: 'RU' })).toMatchObject({ decision: 'REVIEW' });
    expect(decide({ documents: [doc('SELFIE', 2)] })).toMatchObject({ reason: 'MISSING_IDENTITY_DOCUMENT' });
    expect(decide({ documents: [doc('PASSPORT', 1)] })).toMatchObject({ reason: 'MISSING_SELFIE' });
  });

  it('refuses duplicates, oversized totals and control characters', () => {
    expect(
      checkKycSubmission(input({ documents: [doc('PASSPORT', 1), doc('SELFIE', 1)] }), today),
    ).toMatchObject({
      ok: false,
      field: 'documents.1.sha256',
    });
    const big = (n: number) => ({ ...doc('PASSPORT', n), sizeBytes: 9 * 1024 * 1024 });
    expect(checkKycSubmission(input({ documents: [big(1), big(2), big(3)] }), today)).toMatchObject({
      ok: false,
      field: 'documents',
    });
    expect(checkKycSubmission(input({ lastName: 'Love\u202Elace' }), today)).toMatchObject({
      ok: false,
      field: 'lastName',
    });
  });
});
