/**
 * Ledger subgraph over HTTP, called the way the gateway calls it, with the real matching core
 * (worker thread, journal in a temp dir): balances live in the core, `User.accounts` is the
 * projection of its BalanceChanged events, `adminAdjustBalance` is its AdminAdjust command. After
 * every scenario the stored journal must satisfy all invariants (balanced, balances = journal,
 * conservation, audit chain). Runs on PGlite by default and on PostgreSQL when DATABASE_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AssetIds,
  MarketIds,
  createInProcessCoreClient,
  limitOrder,
  type InProcessCoreClient,
} from '@graphex/matching-core';
import type { CoreCommand, PublicCoreEvent } from '@graphex/schema';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  internalIdentityHeader,
  requestIdHeader,
  signInternalIdentity,
  type Identity,
} from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import {
  applyBalanceEvents,
  AssetCatalog,
  ledgerMigrationsDir,
  readCoreAccounts,
  startLedger,
  verifyLedger,
  type RunningLedger,
} from './index.ts';

const config = testConfig();
let testDb: TestDatabase;
let service: RunningLedger;
let core: InProcessCoreClient;
let coreDir: string;

/** Waits until the balance projection applied everything the core did so far. */
async function caughtUp(): Promise<void> {
  await service.projection.waitFor(await core.lastEventSeq());
}

const adminId = randomUUID();
const admin = {
  kind: 'user',
  userId: adminId,
  role: 'ADMIN',
  sessionId: randomUUID(),
} as const satisfies Identity;

const adjustMutation = `mutation($userId: ID!, $currency: String!, $amount: Decimal!, $reason: String!) {
  adminAdjustBalance(userId: $userId, currency: $currency, amount: $amount, reason: $reason) { currency available locked total } }`;
const accountsQuery = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id accounts { currency available locked total } } } }`;

interface AccountView {
  currency: string;
  available: string;
  locked: string;
  total: string;
}

async function adjust(
  userId: string,
  currency: string,
  amount: string,
  reason = 'test adjustment',
  identity: Identity = admin,
) {
  return callSubgraph<{ adminAdjustBalance: AccountView }>(
    service.url,
    adjustMutation,
    { userId, currency, amount, reason },
    identity,
    config,
  );
}

async function accountsOf(userId: string, identity: Identity | null = admin) {
  return callSubgraph<{ _entities: Array<{ id: string; accounts: AccountView[] } | null> }>(
    service.url,
    accountsQuery,
    { r: [{ __typename: 'User', id: userId }] },
    identity,
    config,
  );
}

async function available(userId: string, currency: string): Promise<string> {
  await caughtUp();
  const response = await accountsOf(userId);
  expect(response.errors).toBeUndefined();
  return response.data!._entities[0]!.accounts.find((a) => a.currency === currency)!.available;
}

/** Row counts of every table a refused adjustment must leave alone. */
async function snapshot() {
  const counts: Record<string, string> = {};
  await caughtUp();
  counts['coreEventSeq'] = String(await core.lastEventSeq());
  for (const table of [
    'ledger_accounts',
    'journal_transactions',
    'journal_entries',
    'audit_log',
    'core_balances',
  ]) {
    const result = await testDb.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`);
    counts[table] = String(result.rows[0]!.n);
  }
  const balances = await testDb.db.query<{ account_key: string; balance: string; version: string | number }>(
    'SELECT account_key, balance::text AS balance, version FROM ledger_accounts ORDER BY account_key',
  );
  return { counts, balances: balances.rows.map((r) => `${r.account_key}=${r.balance}@${r.version}`) };
}

beforeAll(async () => {
  coreDir = mkdtempSync(path.join(tmpdir(), 'graphex-ledger-core-'));
  core = await createInProcessCoreClient({ dataDir: coreDir });
  testDb = await openTestDatabase('ledger', ledgerMigrationsDir);
  service = await startLedger(config, { port: 0, db: testDb.db, coreClient: core });
  await caughtUp();
});

afterEach(async () => {
  expect(await verifyLedger(testDb.db)).toEqual([]);
});

afterAll(async () => {
  await service?.close();
  await testDb?.dispose();
  await core?.close();
  rmSync(coreDir, { recursive: true, force: true });
});

describe('User.accounts', () => {
  it('lists every reference asset with zero balances for a user with no bookings', async () => {
    const userId = randomUUID();
    const response = await accountsOf(userId, userIdentity(userId));
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities[0]).toEqual({
      id: userId,
      accounts: ['BTC', 'ETH', 'USDT'].map((currency) => ({
        currency,
        available: '0',
        locked: '0',
        total: '0',
      })),
    });
  });

  it('is visible to the user and to staff only', async () => {
    const owner = randomUUID();
    expect((await adjust(owner, 'USDT', '25.5')).errors).toBeUndefined();
    await caughtUp();
    const self = await accountsOf(owner, userIdentity(owner));
    expect(self.data!._entities[0]!.accounts[2]).toEqual({
      currency: 'USDT',
      available: '25.5',
      locked: '0',
      total: '25.5',
    });
    for (const role of ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const) {
      const staff = await accountsOf(owner, userIdentity(randomUUID(), role));
      expect(staff.errors, role).toBeUndefined();
      expect(staff.data!._entities[0]!.accounts[2]!.available).toBe('25.5');
    }
    const other = await accountsOf(owner, userIdentity(randomUUID()));
    expect(other.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(JSON.stringify(other)).not.toContain('25.5');
    const anonymous = await accountsOf(owner, { kind: 'anonymous' });
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const unsigned = await accountsOf(owner, null);
    expect(unsigned.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('adminAdjustBalance', () => {
  it('credits and debits available balance as a balanced, audited journal transaction', async () => {
    const userId = randomUUID();
    const requestId = `req-${randomUUID()}`;
    // Call with an explicit request id, as the gateway forwards it.
    const response = await fetch(service.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [internalIdentityHeader]: await signInternalIdentity(admin, config.internalTokenSecret, 60),
        [requestIdHeader]: requestId,
      },
      body: JSON.stringify({
        query: adjustMutation,
        variables: { userId, currency: 'BTC', amount: '1.5', reason: '  goodwill credit, ticket #42 ' },
      }),
    });
    const credit = (await response.json()) as { data: { adminAdjustBalance: AccountView } };
    expect(credit.data.adminAdjustBalance).toEqual({
      currency: 'BTC',
      available: '1.5',
      locked: '0',
      total: '1.5',
    });

    const entries = await testDb.db.query<{
      account_key: string;
      debit: string;
      credit: string;
      balance_after: string;
    }>(
      `SELECT e.account_key, e.debit::text AS debit, e.credit::text AS credit, e.balance_after::text AS balance_after
       FROM journal_entries e JOIN audit_log a ON a.journal_transaction_id = e.transaction_id
       WHERE a.request_id = $1 ORDER BY e.entry_index`,
      [requestId],
    );
    expect(entries.rows).toEqual([
      {
        account_key: 'system:ADMIN_ADJUSTMENTS:BTC',
        debit: '150000000',
        credit: '0',
        balance_after: expect.any(String),
      },
      {
        account_key: 'system:CORE_USER_BALANCES:BTC',
        debit: '0',
        credit: '150000000',
        balance_after: expect.any(String),
      },
    ]);
    const audit = await testDb.db.query<{
      actor_user_id: string;
      actor_role: string;
      reason: string;
      target_user_id: string;
      details: unknown;
    }>(
      'SELECT actor_user_id, actor_role, reason, target_user_id, details FROM audit_log WHERE request_id = $1',
      [requestId],
    );
    expect(audit.rows).toEqual([
      {
        actor_user_id: adminId,
        actor_role: 'ADMIN',
        reason: 'goodwill credit, ticket #42',
        target_user_id: userId,
        details: {
          currency: 'BTC',
          amount: '1.5',
          amountUnits: '150000000',
          coreEventSeq: expect.stringMatching(/^\d+$/),
          actorSessionId: admin.sessionId,
        },
      },
    ]);

    const debit = await adjust(userId, 'BTC', '-0.49999999');
    expect(debit.data!.adminAdjustBalance).toEqual({
      currency: 'BTC',
      available: '1.00000001',
      locked: '0',
      total: '1.00000001',
    });
    expect(await available(userId, 'BTC')).toBe('1.00000001');
    expect(await available(userId, 'ETH')).toBe('0');
  });

  it('is exact at the extremes of each asset’s precision', async () => {
    const userId = randomUUID();
    expect(
      (await adjust(userId, 'ETH', '123456789.123456789012345678')).data!.adminAdjustBalance.available,
    ).toBe('123456789.123456789012345678');
    expect((await adjust(userId, 'ETH', '-0.000000000000000001')).data!.adminAdjustBalance.available).toBe(
      '123456789.123456789012345677',
    );
    expect(
      (await adjust(userId, 'ETH', '-123456789.123456789012345677')).data!.adminAdjustBalance.available,
    ).toBe('0');
    const huge = '9999999999999999999999999999999999999999.999999999999999999';
    const hugeResponse = await adjust(userId, 'ETH', huge);
    expect(hugeResponse.errors).toBeUndefined();
    expect(hugeResponse.data!.adminAdjustBalance.total).toBe(huge);
    expect((await adjust(userId, 'BTC', '0.00000001')).data!.adminAdjustBalance.available).toBe('0.00000001');
    expect((await adjust(userId, 'USDT', '0.000001')).data!.adminAdjustBalance.available).toBe('0.000001');
    expect((await adjust(userId, 'USDT', '1.500000')).data!.adminAdjustBalance.available).toBe('1.500001');
  });

  it('refuses more decimals than the asset has, and every other malformed argument, changing nothing', async () => {
    const userId = randomUUID();
    await adjust(userId, 'BTC', '1');
    const before = await snapshot();
    const refused: Array<[string, string, string, string, string]> = [
      [userId, 'ETH', '0.0000000000000000001', 'x', 'amount'],
      [userId, 'BTC', '0.000000001', 'x', 'amount'],
      [userId, 'USDT', '-0.0000001', 'x', 'amount'],
      [userId, 'BTC', '0', 'x', 'amount'],
      [userId, 'BTC', '-0.000', 'x', 'amount'],
      [userId, 'DOGE', '1', 'x', 'currency'],
      [userId, 'btc', '1', 'x', 'currency'],
      [userId, 'BTC', '1', '   ', 'reason'],
      [userId, 'BTC', '1', 'r'.repeat(501), 'reason'],
      ['not-a-user', 'BTC', '1', 'x', 'userId'],
    ];
    for (const [target, currency, amount, reason, field] of refused) {
      const response = await adjust(target, currency, amount, reason);
      expect(response.errors?.[0]?.extensions, `${currency} ${amount} ${field}`).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
      });
    }
    for (const amount of ['1e5', 'abc', '', '1.', '.5', '+1', '0x10', ' 1']) {
      const response = await adjust(userId, 'BTC', amount);
      expect(response.errors?.[0]?.extensions?.['code'], amount).toBe('BAD_USER_INPUT');
    }
    const floatLiteral = await callSubgraph(
      service.url,
      `mutation { adminAdjustBalance(userId: "${userId}", currency: "BTC", amount: 1.5, reason: "x") { available } }`,
      {},
      admin,
      config,
    );
    expect(floatLiteral.errors?.[0]?.extensions?.['code']).toMatch(
      /BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to go below zero with INSUFFICIENT_FUNDS and changes nothing', async () => {
    const userId = randomUUID();
    await adjust(userId, 'USDT', '10');
    const before = await snapshot();
    const response = await adjust(userId, 'USDT', '-10.000001');
    expect(response.errors?.[0]?.extensions?.['code']).toBe('INSUFFICIENT_FUNDS');
    expect(response.data).toBeNull();
    // A user with no rows at all: no account rows are left behind either.
    expect((await adjust(randomUUID(), 'BTC', '-1')).errors?.[0]?.extensions?.['code']).toBe(
      'INSUFFICIENT_FUNDS',
    );
    expect(await snapshot()).toEqual(before);
    expect((await adjust(userId, 'USDT', '-10')).data!.adminAdjustBalance.available).toBe('0');
  });

  it('is ADMIN only: FORBIDDEN for other roles and API keys, UNAUTHENTICATED when anonymous', async () => {
    const userId = randomUUID();
    const before = await snapshot();
    for (const role of ['USER', 'SUPPORT', 'COMPLIANCE'] as const) {
      const response = await adjust(userId, 'BTC', '1', 'x', userIdentity(userId, role));
      expect(response.errors?.[0]?.extensions?.['code'], role).toBe('FORBIDDEN');
    }
    const apiKey: Identity = {
      kind: 'apiKey',
      userId: adminId,
      role: 'ADMIN',
      apiKeyId: 'k1',
      scopes: ['READ', 'TRADE', 'WITHDRAW'],
      persistedOnly: false,
    };
    expect((await adjust(userId, 'BTC', '1', 'x', apiKey)).errors?.[0]?.extensions?.['code']).toBe(
      'FORBIDDEN',
    );
    expect(
      (await adjust(userId, 'BTC', '1', 'x', { kind: 'anonymous' })).errors?.[0]?.extensions?.['code'],
    ).toBe('UNAUTHENTICATED');
    expect(await snapshot()).toEqual(before);
  });

  it('serializes concurrent adjustments of one account: no lost update, never below zero', async () => {
    const userId = randomUUID();
    const credits = await Promise.all(Array.from({ length: 10 }, () => adjust(userId, 'BTC', '0.1')));
    expect(credits.every((r) => r.errors === undefined)).toBe(true);
    expect(await available(userId, 'BTC')).toBe('1');
    const debits = await Promise.all(Array.from({ length: 5 }, () => adjust(userId, 'BTC', '-0.3')));
    const succeeded = debits.filter((r) => r.errors === undefined).length;
    const refused = debits.filter((r) => r.errors?.[0]?.extensions?.['code'] === 'INSUFFICIENT_FUNDS').length;
    expect([succeeded, refused]).toEqual([3, 2]);
    expect(await available(userId, 'BTC')).toBe('0.1');
    // Exactly the 13 applied adjustments were journaled and audited.
    const audited = await testDb.db.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM audit_log WHERE target_user_id = $1',
      [userId],
    );
    expect(audited.rows[0]!.n).toBe('13');
  });

  it('detects tampering with balances or the audit log', async () => {
    const userId = randomUUID();
    await adjust(userId, 'ETH', '2', 'first');
    await adjust(userId, 'ETH', '3', 'second');
    const key = 'system:CORE_USER_BALANCES:ETH';
    await testDb.db.query(`UPDATE ledger_accounts SET balance = balance + 1 WHERE account_key = $1`, [key]);
    expect((await verifyLedger(testDb.db)).join('\n')).toMatch(new RegExp(`account ${key}: stored balance`));
    await testDb.db.query(`UPDATE ledger_accounts SET balance = balance - 1 WHERE account_key = $1`, [key]);

    const first = await testDb.db.query<{ id: string | number }>(
      `SELECT id FROM audit_log WHERE reason = 'first' AND target_user_id = $1`,
      [userId],
    );
    const id = String(first.rows[0]!.id);
    await testDb.db.query(`UPDATE audit_log SET reason = 'edited' WHERE id = $1`, [id]);
    expect(await verifyLedger(testDb.db)).toEqual([`audit chain: record ${id} HASH_MISMATCH`]);
    await testDb.db.query(`UPDATE audit_log SET reason = 'first' WHERE id = $1`, [id]);
  });
});

describe('balances from the core', () => {
  it('show trading balances after fees exactly: available and locked per asset', async () => {
    const buyer = randomUUID();
    const seller = randomUUID();
    const submit = async (command: CoreCommand) => expect((await core.submit(command)).result.code).toBe(0);
    await submit({ type: 'Deposit', userId: buyer, assetId: AssetIds.USDT, amountUnits: 100_000_000_000n }); // 100,000
    await submit({ type: 'Deposit', userId: seller, assetId: AssetIds.BTC, amountUnits: 200_000_000n }); // 2 BTC
    const order = (userId: string, side: 'BUY' | 'SELL', priceTicks: number, lots: number) =>
      ({ ...limitOrder(0, MarketIds.BTC_USDT, side, priceTicks, lots), userId }) as CoreCommand;
    await submit(order(seller, 'SELL', 3_000_000, 100_000)); // 1 BTC @ 30000 rests
    await submit(order(buyer, 'BUY', 3_000_000, 40_000)); // takes 0.4 BTC: pays 12000 USDT
    await submit(order(buyer, 'BUY', 2_900_000, 10_000)); // 0.1 BTC @ 29000 rests: locks 2900 USDT
    await caughtUp();
    const accounts = async (userId: string) =>
      (await accountsOf(userId, userIdentity(userId))).data!._entities[0]!.accounts.filter(
        (a) => a.currency !== 'ETH',
      );
    // Buyer: 0.4 BTC − 0.2 % taker fee (0.0008) = 0.3992; USDT 100000 − 12000 − 2900 locked.
    expect(await accounts(buyer)).toEqual([
      { currency: 'BTC', available: '0.3992', locked: '0', total: '0.3992' },
      { currency: 'USDT', available: '85100', locked: '2900', total: '88000' },
    ]);
    // Seller: 12000 USDT − 0.1 % maker fee (12) = 11988; 0.6 BTC still locked by the resting sell.
    expect(await accounts(seller)).toEqual([
      { currency: 'BTC', available: '1', locked: '0.6', total: '1.6' },
      { currency: 'USDT', available: '11988', locked: '0', total: '11988' },
    ]);
  });

  it('is idempotent by eventSeq and rebuilds from 0 into empty tables exactly as live', async () => {
    await caughtUp();
    const events: PublicCoreEvent[] = [];
    const subscription = core.subscribe(0, (batch) => {
      events.push(...batch);
    });
    const last = await core.lastEventSeq();
    for (let i = 0; i < 500 && (events.at(-1)?.eventSeq ?? 0) < last; i++)
      await new Promise((r) => setTimeout(r, 10));
    await subscription.close();
    const live = await testDb.db.query(
      'SELECT user_id, asset_id, available::text, locked::text, event_seq::text FROM core_balances ORDER BY user_id, asset_id',
    );
    // Redelivery to the live projection changes nothing.
    await applyBalanceEvents(testDb.db, service.assets, events.slice(0, 1000));
    expect(
      (
        await testDb.db.query(
          'SELECT user_id, asset_id, available::text, locked::text, event_seq::text FROM core_balances ORDER BY user_id, asset_id',
        )
      ).rows,
    ).toEqual(live.rows);

    const fresh = await openTestDatabase('ledger_rebuild', ledgerMigrationsDir);
    try {
      const catalog = new AssetCatalog();
      for (let start = 0, size = 1; start < events.length; start += size, size = (size % 7) + 1) {
        await applyBalanceEvents(fresh.db, catalog, events.slice(start, start + size));
      }
      const rebuilt = await fresh.db.query(
        'SELECT user_id, asset_id, available::text, locked::text, event_seq::text FROM core_balances ORDER BY user_id, asset_id',
      );
      expect(rebuilt.rows).toEqual(live.rows);
      expect(catalog.all()).toEqual(service.assets.all());
      const someone = (live.rows[0] as { user_id: string }).user_id;
      expect(await readCoreAccounts(fresh.db, catalog, someone)).toEqual(
        await readCoreAccounts(testDb.db, service.assets, someone),
      );
    } finally {
      await fresh.dispose();
    }
  });
});
