import { describe, expect, it } from 'vitest';
import type { PublicCoreEvent } from '@graphex/schema';
import { canTransition, confirmationsAt, depositTransactionId, findCreditEvent } from './deposit.ts';

const hash = `0x${'ab'.repeat(32)}`;

describe('deposit rules', () => {
  it('gives each (chain, tx hash, log index) one stable id of at most 64 characters', () => {
    const native = depositTransactionId('ethereum', hash, -1);
    expect(native).toBe(depositTransactionId('ethereum', hash, -1));
    expect(native).toMatch(/^dep_[0-9a-f]{40}$/);
    const ids = new Set([
      native,
      depositTransactionId('ethereum', hash, 0),
      depositTransactionId('ethereum', hash, 1),
    ]);
    expect(ids.size).toBe(3);
    expect(() => depositTransactionId('ethereum', hash.toUpperCase(), 0)).toThrow(RangeError);
    expect(() => depositTransactionId('ethereum', hash, -2)).toThrow(RangeError);
    expect(() => depositTransactionId('ethereum', hash, 1.5)).toThrow(RangeError);
  });

  it('counts the including block as the first confirmation', () => {
    expect(confirmationsAt(100, 99)).toBe(0);
    expect(confirmationsAt(100, 100)).toBe(1);
    expect(confirmationsAt(100, 111)).toBe(12);
  });

  it('allows only the deposit state machine transitions', () => {
    expect(canTransition('PENDING', 'CONFIRMED')).toBe(true);
    expect(canTransition('PENDING', 'ORPHANED')).toBe(true);
    expect(canTransition('ORPHANED', 'PENDING')).toBe(true);
    expect(canTransition('ORPHANED', 'CONFIRMED')).toBe(false);
    expect(canTransition('CONFIRMED', 'ORPHANED')).toBe(false);
    expect(canTransition('CONFIRMED', 'PENDING')).toBe(false);
    expect(canTransition('REJECTED', 'PENDING')).toBe(false);
  });

  it('recognises the credit event by kind, user, asset and exact amount', () => {
    const base = { eventSeq: 10, seq: 5, timeMs: 0, withdrawalId: null } as const;
    const events: PublicCoreEvent[] = [
      { ...base, type: 'FundsMoved', kind: 'ADMIN_ADJUST', userId: 'u1', assetId: 2, amountUnits: 7n },
      {
        ...base,
        eventSeq: 11,
        type: 'FundsMoved',
        kind: 'DEPOSIT',
        userId: 'u2',
        assetId: 2,
        amountUnits: 7n,
      },
      {
        ...base,
        eventSeq: 12,
        type: 'FundsMoved',
        kind: 'DEPOSIT',
        userId: 'u1',
        assetId: 3,
        amountUnits: 7n,
      },
      {
        ...base,
        eventSeq: 13,
        type: 'FundsMoved',
        kind: 'DEPOSIT',
        userId: 'u1',
        assetId: 2,
        amountUnits: 8n,
      },
      {
        ...base,
        eventSeq: 14,
        type: 'FundsMoved',
        kind: 'DEPOSIT',
        userId: 'u1',
        assetId: 2,
        amountUnits: 7n,
      },
    ];
    expect(findCreditEvent(events, { userId: 'u1', assetId: 2, amountBaseUnits: 7n })?.eventSeq).toBe(14);
    expect(
      findCreditEvent(events.slice(0, 4), { userId: 'u1', assetId: 2, amountBaseUnits: 7n }),
    ).toBeUndefined();
  });
});
