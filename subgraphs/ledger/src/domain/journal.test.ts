import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ledgerAccountKey, mayGoNegative, type LedgerAccountRef } from './accounts.ts';
import {
  applyJournal,
  assertBalanced,
  balanceDeltaUnits,
  JournalInvariantError,
  type AccountState,
  type JournalEntry,
} from './journal.ts';

const alice = '6f1c8e02-4a7b-4c3d-9e1f-0a1b2c3d4e5f';
const bob = '0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d';
const user = (userId: string, currency = 'BTC'): LedgerAccountRef => ({
  kind: 'user',
  userId,
  currency,
  bucket: 'AVAILABLE',
});
const system = (currency = 'BTC'): LedgerAccountRef => ({
  kind: 'system',
  name: 'ADJUSTMENTS',
  currency,
});
const debit = (account: LedgerAccountRef, amountUnits: bigint): JournalEntry => ({
  account,
  side: 'DEBIT',
  amountUnits,
});
const credit = (account: LedgerAccountRef, amountUnits: bigint): JournalEntry => ({
  account,
  side: 'CREDIT',
  amountUnits,
});

describe('assertBalanced', () => {
  it('accepts transactions whose debits equal credits per currency', () => {
    expect(() => assertBalanced([debit(system(), 5n), credit(user(alice), 5n)])).not.toThrow();
    expect(() =>
      assertBalanced([
        debit(user(alice, 'USDT'), 100n),
        credit(user(bob, 'USDT'), 100n),
        debit(user(bob, 'BTC'), 1n),
        credit(user(alice, 'BTC'), 1n),
      ]),
    ).not.toThrow();
  });

  it('refuses unbalanced, cross-currency, one-sided and non-positive transactions', () => {
    const refused: JournalEntry[][] = [
      [debit(system(), 5n), credit(user(alice), 4n)],
      [debit(system('BTC'), 5n), credit(user(alice, 'ETH'), 5n)],
      [credit(user(alice), 5n)],
      [],
      [debit(system(), 0n), credit(user(alice), 0n)],
      [debit(system(), -5n), credit(user(alice), -5n)],
    ];
    for (const entries of refused) expect(() => assertBalanced(entries)).toThrow(JournalInvariantError);
  });
});

describe('applyJournal', () => {
  it('moves balances and bumps each touched account’s version once', () => {
    const current = new Map<string, AccountState>([
      [ledgerAccountKey(user(alice)), { balanceUnits: 10n, version: 4n }],
    ]);
    const outcome = applyJournal(current, [debit(user(alice), 3n), credit(user(bob), 3n)]);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.accounts.get(ledgerAccountKey(user(alice)))).toEqual({
      before: { balanceUnits: 10n, version: 4n },
      after: { balanceUnits: 7n, version: 5n },
    });
    expect(outcome.accounts.get(ledgerAccountKey(user(bob)))!.after).toEqual({
      balanceUnits: 3n,
      version: 1n,
    });
    expect(outcome.entries.map((e) => e.balanceAfterUnits)).toEqual([7n, 3n]);
  });

  it('refuses to take a user account below zero, naming it, and lets system accounts go negative', () => {
    const outcome = applyJournal(new Map(), [debit(user(alice), 1n), credit(system(), 1n)]);
    expect(outcome).toMatchObject({
      ok: false,
      code: 'INSUFFICIENT_FUNDS',
      account: user(alice),
      balanceUnits: 0n,
      shortfallUnits: 1n,
    });
    const credited = applyJournal(new Map(), [debit(system(), 1n), credit(user(alice), 1n)]);
    expect(credited.ok && credited.accounts.get(ledgerAccountKey(system()))!.after.balanceUnits).toBe(-1n);
  });

  it('judges funds after the whole transaction (money may pass through an account)', () => {
    const outcome = applyJournal(new Map(), [
      debit(system(), 5n),
      credit(user(alice), 5n),
      debit(user(alice), 5n),
      credit(user(bob), 5n),
    ]);
    expect(outcome.ok).toBe(true);
  });

  it('keeps every currency summing to zero and no user negative over random transaction streams', () => {
    const accounts = [user(alice), user(bob), system(), user(alice, 'ETH'), system('ETH')];
    const entryArb = fc.record({
      from: fc.integer({ min: 0, max: accounts.length - 1 }),
      to: fc.integer({ min: 0, max: accounts.length - 1 }),
      amount: fc.bigInt({ min: 1n, max: 10n ** 30n }),
    });
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 60 }), (moves) => {
        const state = new Map<string, AccountState>();
        const seen = new Map<string, LedgerAccountRef>();
        for (const move of moves) {
          const from = accounts[move.from]!;
          const to = { ...accounts[move.to]!, currency: from.currency } as LedgerAccountRef;
          for (const ref of [from, to]) seen.set(ledgerAccountKey(ref), ref);
          const entries = [debit(from, move.amount), credit(to, move.amount)];
          const outcome = applyJournal(state, entries);
          if (!outcome.ok) {
            expect(mayGoNegative(outcome.account)).toBe(false);
            continue;
          }
          for (const [key, { before, after }] of outcome.accounts) {
            expect(after.balanceUnits - before.balanceUnits).toBe(
              entries
                .filter((e) => ledgerAccountKey(e.account) === key)
                .reduce((sum, e) => sum + balanceDeltaUnits(e), 0n),
            );
            state.set(key, after);
          }
        }
        const sums = new Map<string, bigint>();
        for (const ref of seen.values()) {
          const balance = state.get(ledgerAccountKey(ref))?.balanceUnits ?? 0n;
          if (!mayGoNegative(ref)) expect(balance >= 0n).toBe(true);
          sums.set(ref.currency, (sums.get(ref.currency) ?? 0n) + balance);
        }
        for (const sum of sums.values()) expect(sum).toBe(0n);
      }),
    );
  });
});
