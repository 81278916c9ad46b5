import { describe, expect, it } from 'vitest';
import { planAdminAdjustment } from './admin-adjustment.ts';

const userId = '6f1c8e02-4a7b-4c3d-9e1f-0a1b2c3d4e5f';

describe('planAdminAdjustment', () => {
  it('parses a positive amount exactly in the asset’s base units and trims the reason', () => {
    const plan = planAdminAdjustment({
      userId,
      currency: 'ETH',
      amount: '123456789.123456789012345678',
      reason: ' fix ',
    });
    expect(plan).toEqual({
      ok: true,
      adjustment: {
        userId,
        currency: 'ETH',
        decimals: 18,
        amountUnits: 123456789123456789012345678n,
        reason: 'fix',
      },
    });
  });

  it('keeps the sign of a debit and normalizes the user id', () => {
    const plan = planAdminAdjustment({
      userId: userId.toUpperCase(),
      currency: 'BTC',
      amount: '-0.00000001',
      reason: 'x',
    });
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
      const plan = planAdminAdjustment({ userId, currency: 'ETH', amount: '1', reason: 'ok', ...override });
      expect(plan, JSON.stringify(override)).toMatchObject({ ok: false, field });
    }
  });
});
