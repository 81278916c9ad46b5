/**
 * Double-entry journal, pure. A journal transaction is a set of entries, each a debit or a credit
 * of a positive amount to one ledger account; per asset the debits equal the credits. Applying a
 * transaction to account balances is all-or-nothing: if any user account would go below zero,
 * nothing is applied and the outcome says which account lacked funds.
 */
import { ledgerAccountKey, mayGoNegative, type LedgerAccountRef } from './accounts.ts';

export type EntrySide = 'DEBIT' | 'CREDIT';

export interface JournalEntry {
  readonly account: LedgerAccountRef;
  readonly side: EntrySide;
  /** Always positive, in base units of `account.currency`. */
  readonly amountUnits: bigint;
}

export const journalKinds = [
  'DEPOSIT',
  'WITHDRAWAL_HOLD',
  'WITHDRAWAL_SETTLE',
  'WITHDRAWAL_RELEASE',
  'ADMIN_ADJUSTMENT',
  'TRADE',
  'ORDER_HOLD',
  'ORDER_RELEASE',
] as const;
export type JournalKind = (typeof journalKinds)[number];

export interface JournalTransaction {
  /**
   * The core event this transaction books. With `leg` (0, 1, … in the order an event's
   * transactions are applied) it is the transaction's identity: posting is idempotent by it.
   */
  readonly eventSeq: number;
  readonly leg: number;
  /** The core command that caused the event. */
  readonly commandSeq: number;
  readonly kind: JournalKind;
  readonly description: string;
  readonly occurredAt: Date;
  readonly entries: readonly JournalEntry[];
}

/** Stable id of a journal transaction, e.g. `1234.0` (event sequence, leg). */
export function journalTransactionId(eventSeq: number, leg: number): string {
  return `${eventSeq}.${leg}`;
}

export class JournalInvariantError extends Error {
  override name = 'JournalInvariantError';
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new JournalInvariantError(message);
}

/** Σ debits and Σ credits per currency. */
export function totalsByCurrency(
  entries: readonly JournalEntry[],
): Map<string, { debitUnits: bigint; creditUnits: bigint }> {
  const totals = new Map<string, { debitUnits: bigint; creditUnits: bigint }>();
  for (const entry of entries) {
    const total = totals.get(entry.account.currency) ?? { debitUnits: 0n, creditUnits: 0n };
    if (entry.side === 'DEBIT') total.debitUnits += entry.amountUnits;
    else total.creditUnits += entry.amountUnits;
    totals.set(entry.account.currency, total);
  }
  return totals;
}

/**
 * Asserts a transaction is well-formed: at least two entries, every amount positive, and per
 * currency Σ debits = Σ credits. A violation is a programmer error, never a user error.
 */
export function assertBalanced(entries: readonly JournalEntry[]): void {
  assert(entries.length >= 2, `A journal transaction needs at least two entries, got ${entries.length}.`);
  for (const entry of entries) {
    assert(entry.amountUnits > 0n, `Journal entry amounts must be positive, got ${entry.amountUnits}.`);
  }
  for (const [currency, total] of totalsByCurrency(entries)) {
    assert(
      total.debitUnits === total.creditUnits,
      `Unbalanced journal transaction in ${currency}: debits ${total.debitUnits} != credits ${total.creditUnits}.`,
    );
  }
}

/** Effect of an entry on its account's balance (credit-normal: credits add, debits subtract). */
export function balanceDeltaUnits(entry: JournalEntry): bigint {
  return entry.side === 'CREDIT' ? entry.amountUnits : -entry.amountUnits;
}

export interface AccountState {
  readonly balanceUnits: bigint;
  /** Incremented by one for every transaction that changes the account (optimistic concurrency). */
  readonly version: bigint;
}

export interface AppliedEntry {
  readonly entry: JournalEntry;
  readonly accountKey: string;
  readonly balanceAfterUnits: bigint;
  readonly accountVersion: bigint;
}

export type ApplyOutcome =
  | {
      readonly ok: true;
      /** New state of every touched account, by account key. */
      readonly accounts: ReadonlyMap<string, { readonly before: AccountState; readonly after: AccountState }>;
      readonly entries: readonly AppliedEntry[];
    }
  | {
      readonly ok: false;
      readonly code: 'INSUFFICIENT_FUNDS';
      readonly account: LedgerAccountRef;
      readonly balanceUnits: bigint;
      readonly shortfallUnits: bigint;
    };

/**
 * Applies a balanced transaction to the current account states (missing = zero, version 0).
 * Pure: returns the new states, or INSUFFICIENT_FUNDS naming the first account that would go
 * below zero (after all of the transaction's entries, so a transaction may move money through an
 * account).
 */
export function applyJournal(
  current: ReadonlyMap<string, AccountState>,
  entries: readonly JournalEntry[],
): ApplyOutcome {
  assertBalanced(entries);
  const running = new Map<string, { ref: LedgerAccountRef; before: AccountState; balanceUnits: bigint }>();
  const applied: AppliedEntry[] = [];
  for (const entry of entries) {
    const key = ledgerAccountKey(entry.account);
    let state = running.get(key);
    if (!state) {
      const before = current.get(key) ?? { balanceUnits: 0n, version: 0n };
      state = { ref: entry.account, before, balanceUnits: before.balanceUnits };
      running.set(key, state);
    }
    state.balanceUnits += balanceDeltaUnits(entry);
    applied.push({
      entry,
      accountKey: key,
      balanceAfterUnits: state.balanceUnits,
      accountVersion: state.before.version + 1n,
    });
  }
  for (const state of running.values()) {
    if (state.balanceUnits < 0n && !mayGoNegative(state.ref)) {
      return {
        ok: false,
        code: 'INSUFFICIENT_FUNDS',
        account: state.ref,
        balanceUnits: state.before.balanceUnits,
        shortfallUnits: -state.balanceUnits,
      };
    }
  }
  const accounts = new Map<string, { before: AccountState; after: AccountState }>();
  for (const [key, state] of running) {
    accounts.set(key, {
      before: state.before,
      after: { balanceUnits: state.balanceUnits, version: state.before.version + 1n },
    });
  }
  return { ok: true, accounts, entries: applied };
}
