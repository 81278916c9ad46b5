/**
 * Posts journal transactions to the database: the write side of the ledger projection. Whatever
 * produces a transaction (an admin adjustment today, the matching core's events later) goes
 * through `postJournalTransaction`, inside the caller's database transaction, so the journal, the
 * account balances and anything else the caller writes (the audit record) commit together.
 */
import type { Queryable } from '@graphex/runtime';
import { ledgerAccountKey, type LedgerAccountRef } from '../domain/accounts.ts';
import {
  applyJournal,
  assertBalanced,
  JournalInvariantError,
  type AccountState,
  type JournalTransaction,
} from '../domain/journal.ts';

export type PostOutcome =
  | { readonly kind: 'posted'; readonly balances: ReadonlyMap<string, bigint> }
  /** The source sequence was already posted: nothing changed (idempotent replay). */
  | { readonly kind: 'duplicate' }
  | {
      readonly kind: 'insufficient-funds';
      readonly account: LedgerAccountRef;
      readonly balanceUnits: bigint;
      readonly shortfallUnits: bigint;
    };

function accountColumns(ref: LedgerAccountRef): [string, string, string | null, string, string] {
  return ref.kind === 'user'
    ? [ledgerAccountKey(ref), 'USER', ref.userId, ref.currency, ref.bucket]
    : [ledgerAccountKey(ref), 'SYSTEM', null, ref.currency, ref.name];
}

/**
 * Posts `transaction`. On `insufficient-funds` the caller must roll back (it throws the API error,
 * which does); the only writes before that point are lazily created zero-balance account rows.
 */
export async function postJournalTransaction(
  tx: Queryable,
  transaction: JournalTransaction,
): Promise<PostOutcome> {
  assertBalanced(transaction.entries);
  const refs = new Map<string, LedgerAccountRef>();
  for (const entry of transaction.entries) refs.set(ledgerAccountKey(entry.account), entry.account);
  // Sorted keys: every writer locks accounts in the same order, so two transactions never deadlock.
  const keys = [...refs.keys()].sort();

  for (const key of keys) {
    await tx.query(
      `INSERT INTO ledger_accounts (account_key, owner_kind, user_id, currency, bucket)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_key) DO NOTHING`,
      accountColumns(refs.get(key)!),
    );
  }
  const locked = await tx.query<{ account_key: string; balance: string; version: string | number }>(
    'SELECT account_key, balance::text AS balance, version FROM ledger_accounts WHERE account_key = ANY($1) ORDER BY account_key FOR UPDATE',
    [keys],
  );
  if (locked.rows.length !== keys.length) {
    throw new JournalInvariantError(`Expected ${keys.length} ledger accounts, locked ${locked.rows.length}.`);
  }
  const current = new Map<string, AccountState>(
    locked.rows.map((row) => [
      row.account_key,
      { balanceUnits: BigInt(row.balance), version: BigInt(row.version) },
    ]),
  );

  const outcome = applyJournal(current, transaction.entries);
  if (!outcome.ok) {
    return {
      kind: 'insufficient-funds',
      account: outcome.account,
      balanceUnits: outcome.balanceUnits,
      shortfallUnits: outcome.shortfallUnits,
    };
  }

  const inserted = await tx.query(
    `INSERT INTO journal_transactions (id, kind, description, source, source_sequence, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, source_sequence) DO NOTHING`,
    [
      transaction.id,
      transaction.kind,
      transaction.description,
      transaction.source.name,
      transaction.source.sequence === null ? null : transaction.source.sequence.toString(),
      transaction.occurredAt,
    ],
  );
  if (inserted.rowCount === 0) return { kind: 'duplicate' };

  const balances = new Map<string, bigint>();
  for (const [key, { before, after }] of outcome.accounts) {
    const updated = await tx.query(
      `UPDATE ledger_accounts SET balance = $2::numeric, version = $3, updated_at = now()
       WHERE account_key = $1 AND version = $4 AND balance = $5::numeric`,
      [
        key,
        after.balanceUnits.toString(),
        after.version.toString(),
        before.version.toString(),
        before.balanceUnits.toString(),
      ],
    );
    // We hold the row lock, so a mismatch means someone wrote balances outside this function.
    if (updated.rowCount !== 1)
      throw new JournalInvariantError(`Ledger account ${key} changed under its lock.`);
    balances.set(key, after.balanceUnits);
  }

  for (const [index, applied] of outcome.entries.entries()) {
    const amount = applied.entry.amountUnits.toString();
    await tx.query(
      `INSERT INTO journal_entries
         (transaction_id, entry_index, account_key, currency, debit, credit, balance_after, account_version)
       VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8)`,
      [
        transaction.id,
        index,
        applied.accountKey,
        applied.entry.account.currency,
        applied.entry.side === 'DEBIT' ? amount : '0',
        applied.entry.side === 'CREDIT' ? amount : '0',
        applied.balanceAfterUnits.toString(),
        applied.accountVersion.toString(),
      ],
    );
  }
  return { kind: 'posted', balances };
}
