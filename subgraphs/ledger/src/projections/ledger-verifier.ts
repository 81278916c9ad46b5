/**
 * Checks the ledger's invariants against the stored data; returns every violation found (empty
 * when the ledger is sound). Used by tests after every scenario and available to operators.
 *
 * 1. every journal transaction balances per currency (Σ debits = Σ credits);
 * 2. every account's stored balance equals Σ credits − Σ debits of its entries;
 * 3. every account's version equals the number of transactions that touched it;
 * 4. per currency, all account balances sum to zero (conservation);
 * 5. no user account is negative, every entry's currency is its account's currency;
 * 6. every transaction has at least two entries, and each entry's balance_after / account_version
 *    continue its account's previous entry (the running balance replays).
 */
import type { Queryable } from '@graphex/runtime';

export async function verifyLedger(db: Queryable): Promise<string[]> {
  const violations: string[] = [];
  const unbalanced = await db.query<{
    transaction_id: string;
    currency: string;
    debits: string;
    credits: string;
  }>(
    `SELECT event_seq || '.' || leg AS transaction_id, currency, sum(debit)::text AS debits, sum(credit)::text AS credits
     FROM journal_entries GROUP BY event_seq, leg, currency HAVING sum(debit) <> sum(credit)`,
  );
  for (const row of unbalanced.rows) {
    violations.push(
      `transaction ${row.transaction_id} ${row.currency}: debits ${row.debits} != credits ${row.credits}`,
    );
  }
  const thin = await db.query<{ transaction_id: string }>(
    `SELECT t.event_seq || '.' || t.leg AS transaction_id FROM journal_transactions t
     LEFT JOIN journal_entries e ON e.event_seq = t.event_seq AND e.leg = t.leg
     GROUP BY t.event_seq, t.leg HAVING count(e.entry_index) < 2`,
  );
  for (const row of thin.rows)
    violations.push(`transaction ${row.transaction_id} has fewer than two entries`);
  const broken = await db.query<{ account_key: string; transaction_id: string }>(
    `SELECT account_key, event_seq || '.' || leg AS transaction_id FROM (
       SELECT account_key, event_seq, leg, balance_after, account_version, credit - debit AS delta,
         lag(balance_after, 1, 0) OVER w AS previous_balance, lag(account_version, 1, 0) OVER w AS previous_version,
         lag(event_seq) OVER w AS previous_event, lag(leg) OVER w AS previous_leg
       FROM journal_entries WINDOW w AS (PARTITION BY account_key ORDER BY event_seq, leg, entry_index)) r
     WHERE balance_after <> previous_balance + delta
       OR account_version <> previous_version + CASE WHEN previous_event = event_seq AND previous_leg = leg THEN 0 ELSE 1 END`,
  );
  for (const row of broken.rows)
    violations.push(
      `account ${row.account_key}: entry of ${row.transaction_id} does not continue its running balance`,
    );
  const drifted = await db.query<{ account_key: string; balance: string; derived: string }>(
    `SELECT a.account_key, a.balance::text AS balance, coalesce(sum(e.credit - e.debit), 0)::text AS derived
     FROM ledger_accounts a LEFT JOIN journal_entries e ON e.account_key = a.account_key
     GROUP BY a.account_key, a.balance HAVING a.balance <> coalesce(sum(e.credit - e.debit), 0)`,
  );
  for (const row of drifted.rows) {
    violations.push(`account ${row.account_key}: stored balance ${row.balance} != journal ${row.derived}`);
  }
  const versions = await db.query<{ account_key: string; version: string; touched: string }>(
    `SELECT a.account_key, a.version::text AS version, count(DISTINCT (e.event_seq, e.leg))::text AS touched
     FROM ledger_accounts a LEFT JOIN journal_entries e ON e.account_key = a.account_key
     GROUP BY a.account_key, a.version HAVING a.version <> count(DISTINCT (e.event_seq, e.leg))`,
  );
  for (const row of versions.rows) {
    violations.push(`account ${row.account_key}: version ${row.version} != ${row.touched} transactions`);
  }
  const unconserved = await db.query<{ currency: string; total: string }>(
    `SELECT currency, sum(balance)::text AS total FROM ledger_accounts GROUP BY currency HAVING sum(balance) <> 0`,
  );
  for (const row of unconserved.rows)
    violations.push(`currency ${row.currency}: balances sum to ${row.total}, not 0`);
  const negative = await db.query<{ account_key: string; balance: string }>(
    `SELECT account_key, balance::text AS balance FROM ledger_accounts WHERE owner_kind = 'USER' AND balance < 0`,
  );
  for (const row of negative.rows)
    violations.push(`user account ${row.account_key} is negative: ${row.balance}`);
  const mismatched = await db.query<{ transaction_id: string; entry_index: number }>(
    `SELECT e.event_seq || '.' || e.leg AS transaction_id, e.entry_index FROM journal_entries e
     JOIN ledger_accounts a ON a.account_key = e.account_key WHERE a.currency <> e.currency`,
  );
  for (const row of mismatched.rows) {
    violations.push(`entry ${row.transaction_id}#${row.entry_index}: currency differs from its account`);
  }
  return violations;
}
