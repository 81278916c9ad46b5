/**
 * The journal in the database: the write side of the core-event projection and the reads behind
 * `User.accounts` and `Account.entries`. Writes are set-based (one statement per table per batch,
 * rows shipped as one JSON document) because the projection runs on every trade; the journal is
 * append-only (a trigger refuses UPDATE/DELETE), accounts carry a running balance and version
 * written in the same transaction as their entries.
 */
import type { Queryable } from '@graphex/runtime';
import {
  ledgerAccountKey,
  lockedBuckets,
  type LedgerAccountRef,
  type UserAccountBalance,
  type UserBucket,
} from '../domain/accounts.ts';
import type { AssetCatalog } from '../domain/core-catalog.ts';
import type { JournalBatch } from '../domain/core-journal.ts';
import {
  JournalInvariantError,
  type AccountState,
  type EntrySide,
  type JournalKind,
} from '../domain/journal.ts';

/**
 * Current state of the accounts `refs` names, locked for the rest of the caller's transaction;
 * accounts without a row are absent (zero, version 0).
 */
export async function lockAccountStates(
  tx: Queryable,
  keys: readonly string[],
): Promise<Map<string, AccountState>> {
  if (keys.length === 0) return new Map();
  const sorted = [...keys].sort();
  const result = await tx.query<{ account_key: string; balance: string; version: string | number }>(
    `SELECT account_key, balance::text AS balance, version FROM ledger_accounts
     WHERE account_key = ANY($1) ORDER BY account_key FOR UPDATE`,
    [sorted],
  );
  return new Map(
    result.rows.map((row) => [
      row.account_key,
      { balanceUnits: BigInt(row.balance), version: BigInt(row.version) },
    ]),
  );
}

function accountRow(key: string, ref: LedgerAccountRef, after: AccountState) {
  return {
    account_key: key,
    owner_kind: ref.kind === 'user' ? 'USER' : 'SYSTEM',
    user_id: ref.kind === 'user' ? ref.userId : null,
    currency: ref.currency,
    bucket: ref.kind === 'user' ? ref.bucket : ref.name,
    balance: after.balanceUnits.toString(),
    version: after.version.toString(),
  };
}

/**
 * The batch statement of `writeJournalBatch`: $1 created accounts, $2 updated accounts (with the
 * version and balance each must still have), $3 transactions, $4 entries (JSON arrays), $5 the
 * updated account keys.
 */
export const journalBatchSql = `WITH created AS (
   INSERT INTO ledger_accounts (account_key, owner_kind, user_id, currency, bucket, balance, version)
   SELECT account_key, owner_kind, user_id, currency, bucket, balance, version
   FROM jsonb_to_recordset($1::jsonb) AS r(account_key text, owner_kind text, user_id text, currency text,
     bucket text, balance numeric, version bigint)
   ON CONFLICT (account_key) DO NOTHING
   RETURNING 1),
   updated AS (
   UPDATE ledger_accounts a SET balance = r.balance, version = r.version
   FROM jsonb_to_recordset($2::jsonb) AS r(account_key text, balance numeric, version bigint,
     before_version bigint, before_balance numeric)
   WHERE a.account_key = r.account_key AND a.version = r.before_version AND a.balance = r.before_balance
     -- Redundant, for the planner: the keys by index, never a scan of every account per batch.
     AND a.account_key = ANY($5::text[])
   RETURNING 1),
   transactions AS (
   INSERT INTO journal_transactions (event_seq, leg, command_seq, kind, description, occurred_at)
   SELECT event_seq, leg, command_seq, kind, description, occurred_at
   FROM jsonb_to_recordset($3::jsonb) AS r(event_seq bigint, leg smallint, command_seq bigint, kind text,
     description text, occurred_at timestamptz)
   RETURNING 1),
   entries AS (
   INSERT INTO journal_entries (event_seq, leg, entry_index, account_key, currency, debit, credit, balance_after,
     account_version)
   SELECT event_seq, leg, entry_index, account_key, currency, debit, credit, balance_after, account_version
   FROM jsonb_to_recordset($4::jsonb) AS r(event_seq bigint, leg smallint, entry_index smallint, account_key text,
     currency text, debit numeric, credit numeric, balance_after numeric, account_version bigint)
   RETURNING 1)
   SELECT (SELECT count(*) FROM created)::text AS created, (SELECT count(*) FROM updated)::text AS updated,
   (SELECT count(*) FROM transactions)::text AS transactions, (SELECT count(*) FROM entries)::text AS entries`;

/**
 * Writes a booked batch in one statement (one round trip on the hot path): new accounts, changed
 * accounts (only if still at the version they were read at), the transactions and their entries.
 * Foreign keys are checked at the end of the statement, so entries may name accounts and
 * transactions the same statement creates.
 */
export async function writeJournalBatch(tx: Queryable, batch: JournalBatch): Promise<void> {
  if (batch.transactions.length === 0) return;
  const created: ReturnType<typeof accountRow>[] = [];
  const updated: Array<ReturnType<typeof accountRow> & { before_version: string; before_balance: string }> =
    [];
  for (const [key, { ref, before, after }] of batch.accounts) {
    if (before.version === 0n) created.push(accountRow(key, ref, after));
    else
      updated.push({
        ...accountRow(key, ref, after),
        before_version: before.version.toString(),
        before_balance: before.balanceUnits.toString(),
      });
  }
  const transactions = batch.transactions.map((t) => ({
    event_seq: t.eventSeq,
    leg: t.leg,
    command_seq: t.commandSeq,
    kind: t.kind,
    description: t.description,
    occurred_at: t.occurredAt.toISOString(),
  }));
  const entries = batch.transactions.flatMap((t) =>
    t.applied.map((applied, index) => ({
      event_seq: t.eventSeq,
      leg: t.leg,
      entry_index: index,
      account_key: applied.accountKey,
      currency: applied.entry.account.currency,
      debit: applied.entry.side === 'DEBIT' ? applied.entry.amountUnits.toString() : '0',
      credit: applied.entry.side === 'CREDIT' ? applied.entry.amountUnits.toString() : '0',
      balance_after: applied.balanceAfterUnits.toString(),
      account_version: applied.accountVersion.toString(),
    })),
  );
  const result = await tx.query<{ created: string; updated: string; transactions: string; entries: string }>(
    journalBatchSql,
    [
      JSON.stringify(created),
      JSON.stringify(updated),
      JSON.stringify(transactions),
      JSON.stringify(entries),
      updated.map((row) => row.account_key),
    ],
  );
  const counts = result.rows[0]!;
  // The position lock serializes batches: an account that appeared or changed meanwhile is a bug.
  if (Number(counts.created) !== created.length || Number(counts.updated) !== updated.length)
    throw new JournalInvariantError(
      `Expected to create ${created.length} and update ${updated.length} ledger accounts, did ${counts.created} and ${counts.updated}: balances changed outside the journal.`,
    );
  if (Number(counts.transactions) !== transactions.length || Number(counts.entries) !== entries.length)
    throw new JournalInvariantError('The journal batch was not written completely.');
}

/** A user's balances in every asset the core knows, from the journal's running balances. */
export async function readUserAccounts(
  db: Queryable,
  catalog: AssetCatalog,
  userId: string,
): Promise<UserAccountBalance[]> {
  const result = await db.query<{ currency: string; bucket: UserBucket; balance: string }>(
    `SELECT currency, bucket, balance::text AS balance FROM ledger_accounts WHERE owner_kind = 'USER' AND user_id = $1`,
    [userId],
  );
  return catalog.all().map((asset) => {
    let availableUnits = 0n;
    let lockedUnits = 0n;
    for (const row of result.rows) {
      if (row.currency !== asset.symbol) continue;
      if (row.bucket === 'AVAILABLE') availableUnits += BigInt(row.balance);
      else if (lockedBuckets.includes(row.bucket)) lockedUnits += BigInt(row.balance);
    }
    return { userId, currency: asset.symbol, decimals: asset.decimals, availableUnits, lockedUnits };
  });
}

/** Where a page of entries continues: the last entry's position (newest first). */
export interface EntryCursor {
  readonly eventSeq: number;
  readonly leg: number;
  readonly entryIndex: number;
}

export interface StoredEntry extends EntryCursor {
  /** Of the entry's currency. */
  readonly decimals: number;
  readonly kind: JournalKind;
  readonly side: EntrySide;
  readonly bucket: UserBucket;
  readonly amountUnits: bigint;
  readonly balanceAfterUnits: bigint;
  readonly commandSeq: number;
  readonly occurredAt: Date;
  readonly description: string;
}

/** A page of `Account.entries`. */
export interface EntryPage {
  readonly entries: readonly StoredEntry[];
  readonly hasNextPage: boolean;
}

/** Up to `limit` entries of one user account (all its buckets), newest first, after `cursor`. */
export async function readAccountEntries(
  db: Queryable,
  account: UserAccountBalance,
  limit: number,
  cursor: EntryCursor | null,
): Promise<StoredEntry[]> {
  const { userId, currency, decimals } = account;
  const keys = (['AVAILABLE', 'LOCKED', 'WITHDRAWING'] as const).map((bucket) =>
    ledgerAccountKey({ kind: 'user', userId, currency, bucket }),
  );
  const result = await db.query<{
    event_seq: string | number;
    leg: number;
    entry_index: number;
    account_key: string;
    debit: string;
    credit: string;
    balance_after: string;
    kind: JournalKind;
    command_seq: string | number;
    occurred_at: Date | string;
    description: string;
  }>(
    // One index range scan per bucket (newest first, LIMIT each), merged: cheap however long the
    // account's history is.
    `WITH page AS (${keys
      .map(
        (_key, i) => `(SELECT event_seq, leg, entry_index, account_key, debit, credit, balance_after
          FROM journal_entries
          WHERE account_key = $${i + 1}
            AND ($4::bigint IS NULL OR (event_seq, leg, entry_index) < ($4::bigint, $5::smallint, $6::smallint))
          ORDER BY event_seq DESC, leg DESC, entry_index DESC LIMIT $7)`,
      )
      .join(' UNION ALL ')})
     SELECT e.event_seq, e.leg, e.entry_index, e.account_key, e.debit::text AS debit, e.credit::text AS credit,
       e.balance_after::text AS balance_after, t.kind, t.command_seq, t.occurred_at, t.description
     FROM page e JOIN journal_transactions t ON t.event_seq = e.event_seq AND t.leg = e.leg
     ORDER BY e.event_seq DESC, e.leg DESC, e.entry_index DESC
     LIMIT $7`,
    [...keys, cursor?.eventSeq ?? null, cursor?.leg ?? 0, cursor?.entryIndex ?? 0, limit],
  );
  return result.rows.map((row) => {
    const debitUnits = BigInt(row.debit);
    return {
      decimals,
      eventSeq: Number(row.event_seq),
      leg: Number(row.leg),
      entryIndex: Number(row.entry_index),
      kind: row.kind,
      side: debitUnits > 0n ? 'DEBIT' : 'CREDIT',
      bucket: row.account_key.slice(row.account_key.lastIndexOf(':') + 1) as UserBucket,
      amountUnits: debitUnits > 0n ? debitUnits : BigInt(row.credit),
      balanceAfterUnits: BigInt(row.balance_after),
      commandSeq: Number(row.command_seq),
      occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(row.occurred_at),
      description: row.description,
    };
  });
}
