/**
 * Checks the ledger's invariants against the stored data; returns every violation found (empty
 * when the ledger is sound). Used by tests after every scenario and available to operators.
 *
 * 1. every journal transaction balances per currency (Σ debits = Σ credits);
 * 2. every account's stored balance equals Σ credits − Σ debits of its entries;
 * 3. every account's version equals the number of transactions that touched it;
 * 4. per currency, all account balances sum to zero (conservation);
 * 5. no user account is negative, every entry's currency is its account's currency;
 * 6. the audit chain verifies and its head row points at the last record.
 */
import type { Queryable } from '@graphex/runtime';
import { verifyAuditChain } from '../domain/audit-chain.ts';
import { readAuditChain } from './audit-log.ts';

export async function verifyLedger(db: Queryable): Promise<string[]> {
  const violations: string[] = [];
  const unbalanced = await db.query<{
    transaction_id: string;
    currency: string;
    debits: string;
    credits: string;
  }>(
    `SELECT transaction_id, currency, sum(debit)::text AS debits, sum(credit)::text AS credits
     FROM journal_entries GROUP BY transaction_id, currency HAVING sum(debit) <> sum(credit)`,
  );
  for (const row of unbalanced.rows) {
    violations.push(
      `transaction ${row.transaction_id} ${row.currency}: debits ${row.debits} != credits ${row.credits}`,
    );
  }
  const drifted = await db.query<{ account_key: string; balance: string; derived: string }>(
    `SELECT a.account_key, a.balance::text AS balance, coalesce(sum(e.credit - e.debit), 0)::text AS derived
     FROM ledger_accounts a LEFT JOIN journal_entries e ON e.account_key = a.account_key
     GROUP BY a.account_key, a.balance HAVING a.balance <> coalesce(sum(e.credit - e.debit), 0)`,
  );
  for (const row of drifted.rows) {
    violations.push(`account ${row.account_key}: stored balance ${row.balance} != journal ${row.derived}`);
  }
  const versions = await db.query<{ account_key: string; version: string; touched: string }>(
    `SELECT a.account_key, a.version::text AS version, count(DISTINCT e.transaction_id)::text AS touched
     FROM ledger_accounts a LEFT JOIN journal_entries e ON e.account_key = a.account_key
     GROUP BY a.account_key, a.version HAVING a.version <> count(DISTINCT e.transaction_id)`,
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
    `SELECT e.transaction_id, e.entry_index FROM journal_entries e JOIN ledger_accounts a ON a.account_key = e.account_key
     WHERE a.currency <> e.currency`,
  );
  for (const row of mismatched.rows) {
    violations.push(`entry ${row.transaction_id}#${row.entry_index}: currency differs from its account`);
  }
  const chain = verifyAuditChain(await readAuditChain(db));
  if (!chain.ok) violations.push(`audit chain: record ${chain.firstBadId} ${chain.problem}`);
  else {
    const head = await db.query<{ last_hash: string; length: string | number }>(
      'SELECT last_hash, length FROM audit_chain_head',
    );
    const row = head.rows[0];
    if (!row || row.last_hash !== chain.headHash || Number(row.length) !== chain.length) {
      violations.push(
        'audit chain: head does not match the last record (records were deleted or appended around the head)',
      );
    }
  }
  return violations;
}
