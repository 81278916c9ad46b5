import { describe, expect, it } from 'vitest';
import { planAdminAdjustment } from './admin-adjustment.ts';
import { assertBalanced } from './journal.ts';

const userId = '6f1c8e02-4a7b-4c3d-9e1f-0a1b2c3d4e5f';
const context = {
  transactionId: '11111111-1111-4111-8111-111111111111',
  occurredAt: new Date('2026-01-01T00:00:00Z'),
};

describe('planAdminAdjustment', () => {
  it('credits the user from the adjustments account for a positive amount', () => {
    const plan = planAdminAdjustment(
      { userId, currency: 'ETH', amount: '123456789.123456789012345678', reason: ' fix ' },
      context,
    );
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.adjustment.amountUnits).toBe(123456789123456789012345678n);
    expect(plan.adjustment.reason).toBe('fix');
    expect(plan.adjustment.transaction.entries).toEqual([
      {
        account: { kind: 'system', name: 'ADMIN_ADJUSTMENTS', currency: 'ETH' },
        side: 'DEBIT',
        amountUnits: 123456789123456789012345678n,
      },
      {
        account: { kind: 'system', name: 'CORE_USER_BALANCES', currency: 'ETH' },
        side: 'CREDIT',
        amountUnits: 123456789123456789012345678n,
      },
    ]);
    assertBalanced(plan.adjustment.transaction.entries);
  });

  it('books a negative amount the other way round', () => {
    const plan = planAdminAdjustment(
      { userId: userId.toUpperCase(), currency: 'BTC', amount: '-0.00000001', reason: 'x' },
      context,
    );
    expect(
      plan.ok &&
        plan.adjustment.transaction.entries.map((e) => [
          e.account.kind === 'system' ? e.account.name : e.account.kind,
          e.side,
          e.amountUnits,
        ]),
    ).toEqual([
      ['CORE_USER_BALANCES', 'DEBIT', 1n],
      ['ADMIN_ADJUSTMENTS', 'CREDIT', 1n],
    ]);
    expect(plan.ok && plan.adjustment.amountUnits).toBe(-1n);
    expect(plan.ok && plan.adjustment.userId).toBe(userId);
  });

  it('names the field of every invalid argument', () => {
    const cases: Array<[Partial<Parameters<typeof planAdminAdjustment>[0]>, string]> = [
      [{ userId: 'nope' }, 'userId'],
      [{ currency: 'DOGE' }, 'currency'],
      [{ currency: 'eth' }, 'currency'],
      [{ amount: '0.0000000000000000001' }, 'amount'],
      [{ currency: 'USDT', amount: '1.0000001' }, 'amount'],
      [{ amount: '0' }, 'amount'],
      [{ amount: '-0.0' }, 'amount'],
      [{ amount: '1e3' }, 'amount'],
      [{ amount: 'NaN' }, 'amount'],
      [{ reason: ' \n\t ' }, 'reason'],
      [{ reason: 'x'.repeat(501) }, 'reason'],
    ];
    for (const [override, field] of cases) {
      const plan = planAdminAdjustment(
        { userId, currency: 'ETH', amount: '1', reason: 'ok', ...override },
        context,
      );
      expect(plan, JSON.stringify(override)).toMatchObject({ ok: false, field });
    }
  });
});
