import { describe, expect, it } from 'vitest';
import {
  idempotencyKeyProblem,
  matchAdjustmentIntents,
  planAdminAdjustment,
  type AdjustmentIntent,
} from './admin-adjustment.ts';

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

describe('matchAdjustmentIntents', () => {
  const intent = (ordinal: number, afterEventSeq: number, overrides: Partial<AdjustmentIntent> = {}) =>
    ({
      ordinal,
      adjustmentId: `a${ordinal}`,
      actorUserId: 'admin',
      actorRole: 'ADMIN',
      actorSessionId: null,
      requestId: `r${ordinal}`,
      idempotencyKey: null,
      userId,
      currency: 'BTC',
      assetId: 1,
      amountUnits: 5n,
      reason: 'why',
      afterEventSeq,
      requestedAt: new Date(0),
      eventSeq: null,
      ...overrides,
    }) satisfies AdjustmentIntent;
  const event = (eventSeq: number, amountUnits = 5n) => ({ eventSeq, userId, assetId: 1, amountUnits });

  it('books identical adjustments to their intents oldest first, each intent once', () => {
    const matches = matchAdjustmentIntents(
      [event(12), event(13), event(14)],
      [intent(2, 11), intent(1, 10), intent(3, 13)],
    );
    expect([...matches].map(([seq, match]) => [seq, match?.adjustmentId ?? null])).toEqual([
      [12, 'a1'],
      [13, 'a2'],
      [14, 'a3'],
    ]);
  });

  it('never books an intent recorded after the event, or for another user, asset or amount', () => {
    const matches = matchAdjustmentIntents(
      [event(12)],
      [
        intent(1, 12),
        intent(2, 5, { userId: '00000000-0000-4000-8000-000000000000' }),
        intent(3, 5, { assetId: 2 }),
        intent(4, 5, { amountUnits: -5n }),
      ],
    );
    expect(matches.get(12)).toBeNull();
  });

  it('keeps the booking of a replayed event', () => {
    const matches = matchAdjustmentIntents([event(20)], [intent(1, 5), intent(2, 6, { eventSeq: 20 })]);
    expect(matches.get(20)?.adjustmentId).toBe('a2');
  });
});

describe('idempotencyKeyProblem', () => {
  it('takes 1 to 100 printable ASCII characters', () => {
    expect(idempotencyKeyProblem('ticket-77')).toBeNull();
    expect(idempotencyKeyProblem('x'.repeat(100))).toBeNull();
    for (const bad of ['', 'x'.repeat(101), 'with space', 'é'])
      expect(idempotencyKeyProblem(bad), bad).not.toBeNull();
  });
});
