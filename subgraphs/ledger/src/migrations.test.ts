/**
 * Upgrading a ledger database of the previous version (journal of admin adjustments against an
 * aggregate account, ledger-local audit log): migration 003 replaces the journal, keeps the old
 * audit records, and resets the projection so the journal rebuilds from the core's event log.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@graphex/runtime';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import type { PublicCoreEvent } from '@graphex/schema';
import {
  AssetCatalog,
  applyCoreEvents,
  ledgerMigrationsDir,
  readUserAccounts,
  verifyLedger,
} from './index.ts';

let test: TestDatabase;
let oldMigrationsDir: string;
const userId = '6f1c8e02-4a7b-4c3d-9e1f-0a1b2c3d4e5f';
const transactionId = '11111111-1111-4111-8111-111111111111';

beforeAll(async () => {
  oldMigrationsDir = mkdtempSync(path.join(tmpdir(), 'graphex-ledger-migrations-'));
  for (const file of ['001_journal.sql', '002_core_balances.sql'])
    copyFileSync(path.join(ledgerMigrationsDir, file), path.join(oldMigrationsDir, file));
  test = await openTestDatabase('ledger_upgrade');
});

afterAll(async () => {
  await test?.dispose();
  rmSync(oldMigrationsDir, { recursive: true, force: true });
});

describe('migrating a previous-version ledger', () => {
  it('replaces the journal, keeps the old audit log and rebuilds from event 0', async () => {
    const { db } = test;
    expect(await migrate(db, oldMigrationsDir)).toBe(2);
    // What the previous version wrote for one admin credit of 1 BTC.
    await db.query(`INSERT INTO ledger_accounts (account_key, owner_kind, user_id, currency, bucket, balance, version) VALUES
      ('system:ADMIN_ADJUSTMENTS:BTC', 'SYSTEM', NULL, 'BTC', 'ADMIN_ADJUSTMENTS', -100000000, 1),
      ('system:CORE_USER_BALANCES:BTC', 'SYSTEM', NULL, 'BTC', 'CORE_USER_BALANCES', 100000000, 1)`);
    await db.query(
      `INSERT INTO journal_transactions (id, kind, description, source, source_sequence, occurred_at)
       VALUES ($1, 'ADMIN_ADJUSTMENT', 'old', 'core', 4, now())`,
      [transactionId],
    );
    await db.query(
      `INSERT INTO journal_entries (transaction_id, entry_index, account_key, currency, debit, credit, balance_after, account_version)
       VALUES ($1, 0, 'system:ADMIN_ADJUSTMENTS:BTC', 'BTC', 100000000, 0, -100000000, 1),
              ($1, 1, 'system:CORE_USER_BALANCES:BTC', 'BTC', 0, 100000000, 100000000, 1)`,
      [transactionId],
    );
    await db.query(
      `INSERT INTO audit_log (occurred_at, actor_user_id, actor_role, action, request_id, target_user_id,
         journal_transaction_id, reason, details, previous_hash, hash)
       VALUES (now(), $1, 'ADMIN', 'ADMIN_ADJUST_BALANCE', 'r1', $1, $2, 'old', '{}', $3, $4)`,
      [userId, transactionId, '0'.repeat(64), 'a'.repeat(64)],
    );
    await db.query(`INSERT INTO core_assets (asset_id, symbol, decimals) VALUES (1, 'BTC', 8)`);
    await db.query(
      `INSERT INTO core_balances (user_id, asset_id, available, locked, event_seq) VALUES ($1, 1, 100000000, 0, 5)`,
      [userId],
    );
    await db.query(`INSERT INTO projection_positions (stream, last_sequence) VALUES ('core', 5)`);

    expect(await migrate(db, ledgerMigrationsDir)).toBe(3); // 003, 004, 005
    expect((await db.query('SELECT reason FROM audit_log')).rows).toEqual([{ reason: 'old' }]);
    for (const table of [
      'ledger_accounts',
      'journal_transactions',
      'journal_entries',
      'core_balances',
      'projection_positions',
    ])
      expect((await db.query(`SELECT 1 FROM ${table}`)).rows, table).toEqual([]);

    // The core's log from the start: the same credit, now journaled per user.
    const at = { seq: 1, timeMs: 1_700_000_000_000 };
    const events: PublicCoreEvent[] = [
      { ...at, eventSeq: 1, type: 'AssetAdded', assetId: 1, symbol: 'BTC', decimals: 8 },
      { ...at, eventSeq: 2, type: 'AssetAdded', assetId: 3, symbol: 'USDT', decimals: 6 },
      {
        ...at,
        seq: 2,
        eventSeq: 3,
        type: 'FundsMoved',
        kind: 'ADMIN_ADJUST',
        userId,
        assetId: 1,
        amountUnits: 100_000_000n,
        withdrawalId: null,
      },
      {
        ...at,
        seq: 2,
        eventSeq: 4,
        type: 'BalanceChanged',
        userId,
        assetId: 1,
        availableUnits: 100_000_000n,
        lockedUnits: 0n,
      },
    ];
    const catalog = new AssetCatalog();
    expect(await applyCoreEvents(db, catalog, events)).toBe(4);
    expect(await readUserAccounts(db, catalog, userId)).toEqual([
      { userId, currency: 'BTC', decimals: 8, availableUnits: 100_000_000n, lockedUnits: 0n },
      { userId, currency: 'USDT', decimals: 6, availableUnits: 0n, lockedUnits: 0n },
    ]);
    expect(await verifyLedger(db)).toEqual([]);
  });
});
