/**
 * The journal batch statement's plan: it touches the accounts it books by index, so its cost does
 * not grow with the number of accounts (it was a scan of every account, per batch). Checked on
 * the generic plan, the one a prepared statement settles on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import { ledgerMigrationsDir } from '../index.ts';
import { journalBatchSql } from './journal-store.ts';

let test: TestDatabase;

beforeAll(async () => {
  test = await openTestDatabase('ledger_plan', ledgerMigrationsDir);
  await test.db.query(
    `INSERT INTO ledger_accounts (account_key, owner_kind, user_id, currency, bucket, balance, version)
     SELECT 'user:u' || g || ':BTC:AVAILABLE', 'USER', 'u' || g, 'BTC', 'AVAILABLE', 1000, 1
     FROM generate_series(1, 5000) AS g`,
  );
  await test.db.query('ANALYZE ledger_accounts');
});

afterAll(async () => {
  await test?.dispose();
});

describe('journal batch statement', () => {
  it('updates accounts by index, never by scanning them all', async () => {
    const plan = await test.db.transaction(async (tx) => {
      await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await tx.query(`PREPARE journal_plan (jsonb, jsonb, jsonb, jsonb, text[]) AS ${journalBatchSql}`);
      const explained = await tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN EXECUTE journal_plan('[]', '[{"account_key": "user:u7:BTC:AVAILABLE", "balance": 1, "version": 2, "before_version": 1, "before_balance": 1000}]', '[]', '[]', '{user:u7:BTC:AVAILABLE}')`,
      );
      await tx.query('DEALLOCATE journal_plan');
      return explained.rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan (using|on) ledger_accounts_pkey/);
    expect(plan).not.toMatch(/Seq Scan on ledger_accounts/);
  });
});
