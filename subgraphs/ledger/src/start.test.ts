/**
 * startLedger as `npm start` runs it: no injected client, so it connects to the matching-core
 * service at MATCHING_CORE_URL, projects balances, reports ready once caught up, and adjusts
 * balances through the core.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, startCoreService, type RunningCoreService } from '@graphex/matching-core';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import { ledgerMigrationsDir, startLedger, type RunningLedger } from './index.ts';

const config = testConfig();
let dataDir: string;
let coreService: RunningCoreService;
let test: TestDatabase;
let ledger: RunningLedger;
const previousUrl = process.env['MATCHING_CORE_URL'];
const admin = { kind: 'user', userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() } as const;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'graphex-ledger-start-'));
  coreService = await startCoreService(config, { port: 0, logger: testLogger, dataDir });
  process.env['MATCHING_CORE_URL'] = `ws://127.0.0.1:${coreService.port}/core`;
  test = await openTestDatabase('ledger', ledgerMigrationsDir);
  ledger = await startLedger(config, { port: 0, db: test.db, logger: testLogger });
});

afterAll(async () => {
  await ledger?.close();
  await test?.dispose();
  await coreService?.close();
  if (previousUrl === undefined) delete process.env['MATCHING_CORE_URL'];
  else process.env['MATCHING_CORE_URL'] = previousUrl;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('startLedger against the matching-core service', () => {
  it('becomes ready once caught up; deposits and admin adjustments show in User.accounts', async () => {
    const health = ledger.url.replace('/graphql', '/health');
    for (let i = 0; i < 200 && (await fetch(health)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect((await fetch(health)).status).toBe(200);

    const userId = randomUUID();
    const deposit = await coreService.core.submit({
      type: 'Deposit',
      userId,
      assetId: AssetIds.BTC,
      amountUnits: 100_000_000n,
    });
    expect(deposit.result.code).toBe(0);
    const adjusted = await callSubgraph<{ adminAdjustBalance: { available: string } }>(
      ledger.url,
      `mutation ($id: ID!) { adminAdjustBalance(userId: $id, currency: "BTC", amount: "-0.25", reason: "fee refund reversal") { available } }`,
      { id: userId },
      admin,
      config,
    );
    expect(adjusted.errors).toBeUndefined();
    expect(adjusted.data!.adminAdjustBalance.available).toBe('0.75');
    await ledger.projection.waitFor(await coreService.core.lastEventSeq());
    const accounts = await callSubgraph<{
      _entities: Array<{ accounts: Array<{ currency: string; total: string }> }>;
    }>(
      ledger.url,
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { accounts { currency total } } } }',
      { r: [{ __typename: 'User', id: userId }] },
      userIdentity(userId),
      config,
    );
    expect(accounts.data!._entities[0]!.accounts).toEqual([
      { currency: 'BTC', total: '0.75' },
      { currency: 'ETH', total: '0' },
      { currency: 'USDT', total: '0' },
    ]);
  });
});
