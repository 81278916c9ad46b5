/**
 * The withdrawal store on PGlite or PostgreSQL: illegal transitions are refused with nothing
 * written, and the 24h limit holds under concurrent requests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import { walletsMigrationsDir } from '../index.ts';
import { requestFingerprint } from '../domain/withdrawal.ts';
import { statusHistoryOf } from './chain.ts';
import {
  applyTransitions,
  findWithdrawal,
  IllegalWithdrawalTransition,
  recordWithdrawalRequest,
  type NewWithdrawalRequest,
} from './withdrawals.ts';

let test: TestDatabase;
beforeAll(async () => {
  test = await openTestDatabase('wallets', walletsMigrationsDir);
});
afterAll(async () => {
  await test?.dispose();
});

const address = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const request = (userId: string, amountBaseUnits: bigint): NewWithdrawalRequest => ({
  userId,
  currency: 'ETH',
  amountBaseUnits,
  address,
  idempotencyKey: randomUUID(),
  requestFingerprint: requestFingerprint('ETH', amountBaseUnits, address),
  limitUnits: 100n,
  limitWindowMs: 24 * 60 * 60 * 1000,
  afterEventSeq: 0,
});

describe('withdrawal store', () => {
  it('refuses an illegal transition and writes nothing', async () => {
    const recorded = await recordWithdrawalRequest(test.db, request(randomUUID(), 10n));
    if (recorded.kind !== 'created') throw new Error('expected a new withdrawal');
    const id = recorded.withdrawal.transactionId;
    await expect(
      test.db.transaction((tx) => applyTransitions(tx, id, [{ from: ['REQUESTED'], to: 'COMPLETED' }])),
    ).rejects.toThrow(IllegalWithdrawalTransition);
    // Expected state wrong (the caller believed it APPROVED): refused too.
    await expect(
      test.db.transaction((tx) => applyTransitions(tx, id, [{ from: ['APPROVED'], to: 'SIGNED' }])),
    ).rejects.toThrow(/is REQUESTED; it cannot go to SIGNED/);
    // A legal first step and an illegal second one in one call: neither is written.
    await expect(
      test.db.transaction((tx) =>
        applyTransitions(tx, id, [
          { from: ['REQUESTED'], to: 'HELD', changes: { holdEventSeq: 1 } },
          { from: ['HELD'], to: 'COMPLETED' },
        ]),
      ),
    ).rejects.toThrow(IllegalWithdrawalTransition);
    expect((await findWithdrawal(test.db, id))!.status).toBe('REQUESTED');
    expect((await statusHistoryOf(test.db, id)).map((change) => change.status)).toEqual(['REQUESTED']);
    const audited = await test.db.query('SELECT 1 FROM audit_outbox WHERE source_key LIKE $1', [
      `withdrawal:${id}:%`,
    ]);
    expect(audited.rows.length).toBe(1);
  });

  it('concurrent requests never exceed the 24h limit together', async () => {
    const userId = randomUUID();
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => recordWithdrawalRequest(test.db, request(userId, 30n))),
    );
    // 100 units a day: three of 30 fit, the others are refused.
    expect(outcomes.filter((outcome) => outcome.kind === 'created')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome.kind === 'limit-exceeded')).toHaveLength(3);
  });

  it('the same idempotency key twice records one withdrawal', async () => {
    const userId = randomUUID();
    const first = request(userId, 5n);
    const [a, b] = await Promise.all([
      recordWithdrawalRequest(test.db, first),
      recordWithdrawalRequest(test.db, first),
    ]);
    expect([a.kind, b.kind].sort()).toEqual(['created', 'existing']);
  });
});
