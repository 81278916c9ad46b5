/**
 * Ledger subgraph over HTTP, called the way the gateway calls it, with the real matching core
 * (worker thread, journal in a temp dir): the ledger journals every core event, `User.accounts`
 * and `Account.entries` read the journal, `adminAdjustBalance` is the core's AdminAdjust command
 * (journaled from its FundsMoved event, audited through the outbox). After every scenario the
 * stored journal must satisfy all invariants (balanced, balances = entries, conservation) and
 * `ledgerReconciliation` must be ok (ledger = core at the same sequence). Runs on PGlite by
 * default and on PostgreSQL when DATABASE_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
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
  serviceTokenHeader,
  signInternalIdentity,
  verifyServiceToken,
  type Identity,
} from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import { formatDecimal } from '@graphex/runtime';
import {
  applyCoreEvents,
  AssetCatalog,
  checkLedgerReconciliation,
  createLedgerService,
  CoreJournalError,
  createWalletsCustodySource,
  ledgerMigrationsDir,
  ledgerProjectionLingerMs,
  readCoreAccounts,
  readUserAccounts,
  startLedger,
  verifyLedger,
  WrittenAccounts,
  type RunningLedger,
} from './index.ts';
import { createLedgerOperations } from './ledger-operations.ts';

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
const keyedAdjustMutation = `mutation($userId: ID!, $currency: String!, $amount: Decimal!, $reason: String!, $key: String) {
  adminAdjustBalance(userId: $userId, currency: $currency, amount: $amount, reason: $reason, idempotencyKey: $key) { currency available locked total } }`;
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

/** The core's whole event log so far. */
async function allEvents(): Promise<PublicCoreEvent[]> {
  const events: PublicCoreEvent[] = [];
  const subscription = core.subscribe(0, (batch) => {
    events.push(...batch);
  });
  const last = await core.lastEventSeq();
  for (let i = 0; i < 500 && (events.at(-1)?.eventSeq ?? 0) < last; i++)
    await new Promise((r) => setTimeout(r, 10));
  await subscription.close();
  expect(events.at(-1)?.eventSeq).toBe(last);
  return events;
}

async function available(userId: string, currency: string): Promise<string> {
  await caughtUp();
  const response = await accountsOf(userId);
  expect(response.errors).toBeUndefined();
  return response.data!._entities[0]!.accounts.find((a) => a.currency === currency)!.available;
}

/** The audit outbox records about `userId`, oldest first. */
async function auditRecordsAbout(userId: string) {
  const rows = await testDb.db.query<{ source_key: string; event: Record<string, unknown> | string }>(
    "SELECT source_key, event FROM audit_outbox WHERE event->>'targetUserId' = $1 ORDER BY id",
    [userId],
  );
  return rows.rows.map((row) => ({
    sourceKey: row.source_key,
    event: typeof row.event === 'string' ? (JSON.parse(row.event) as Record<string, unknown>) : row.event,
  }));
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
    'audit_outbox',
    'core_balances',
    'admin_adjustment_intents',
  ]) {
    const result = await testDb.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`);
    counts[table] = String(result.rows[0]!.n);
  }
  const balances = await testDb.db.query<{ account_key: string; balance: string; version: string | number }>(
    'SELECT account_key, balance::text AS balance, version FROM ledger_accounts ORDER BY account_key',
  );
  return { counts, balances: balances.rows.map((r) => `${r.account_key}=${r.balance}@${r.version}`) };
}

/**
 * Stands in for the wallets service's `GET /internal/custody` (its chain watcher is another
 * package's): checks the service token like the real route and answers `custodyAnswer`.
 */
let walletsStandIn: Server;
let custodyAnswer: unknown = {
  available: false,
  reason: 'ETH_RPC_URL is not set',
  blockNumber: 0,
  assets: [],
};
const custodyCallers: Array<string | null> = [];

beforeAll(async () => {
  coreDir = mkdtempSync(path.join(tmpdir(), 'graphex-ledger-core-'));
  core = await createInProcessCoreClient({ dataDir: coreDir });
  testDb = await openTestDatabase('ledger', ledgerMigrationsDir);
  walletsStandIn = createServer((request, response) => {
    void (async () => {
      const token = request.headers[serviceTokenHeader];
      const caller = await verifyServiceToken(
        typeof token === 'string' ? token : undefined,
        config.internalTokenSecret,
      );
      custodyCallers.push(caller);
      if (request.url !== '/internal/custody' || caller === null) {
        response.writeHead(caller === null ? 401 : 404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(custodyAnswer));
    })();
  });
  await new Promise<void>((resolve) => walletsStandIn.listen(0, '127.0.0.1', resolve));
  const { port } = walletsStandIn.address() as { port: number };
  service = await startLedger(config, {
    port: 0,
    db: testDb.db,
    coreClient: core,
    custody: createWalletsCustodySource({
      walletsUrl: `http://127.0.0.1:${port}/graphql`,
      internalTokenSecret: config.internalTokenSecret,
    }),
  });
  await caughtUp();
});

/** Headers that make the subgraph see `identity` (what the gateway sends). */
async function headersOf(identity: Identity): Promise<Record<string, string>> {
  return { [internalIdentityHeader]: await signInternalIdentity(identity, config.internalTokenSecret, 60) };
}

afterEach(async () => {
  await caughtUp();
  expect(await verifyLedger(testDb.db)).toEqual([]);
  const { report, problems } = await checkLedgerReconciliation(service.url, await headersOf(admin));
  expect(problems).toEqual([]);
  expect(report.sequence).toBe(await core.lastEventSeq());
});

afterAll(async () => {
  await new Promise((resolve) => walletsStandIn?.close(resolve));
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
    // A staff member's API key is not a staff session: other users' balances stay hidden.
    const staffKey: Identity = {
      kind: 'apiKey',
      userId: randomUUID(),
      role: 'ADMIN',
      apiKeyId: 'k-staff',
      scopes: ['READ'],
      persistedOnly: false,
    };
    const byKey = await accountsOf(owner, staffKey);
    expect(byKey.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(JSON.stringify(byKey)).not.toContain('25.5');
    const ownKey = await accountsOf(owner, { ...staffKey, userId: owner, role: 'USER' });
    expect(ownKey.data!._entities[0]!.accounts[2]!.available).toBe('25.5');
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

    // The projection audits the adjustment in the transaction that books it.
    await caughtUp();
    const outbox = await testDb.db.query<{ source_key: string; event: Record<string, unknown> | string }>(
      'SELECT source_key, event FROM audit_outbox WHERE event::text LIKE $1',
      [`%${requestId}%`],
    );
    expect(outbox.rows).toHaveLength(1);
    const audited = outbox.rows[0]!;
    const event =
      typeof audited.event === 'string'
        ? (JSON.parse(audited.event) as Record<string, unknown>)
        : audited.event;
    const eventSeq = (event['details'] as Record<string, string>)['eventSeq']!;
    expect(audited.source_key).toBe(`adjustment:${eventSeq}`);
    expect(event).toEqual({
      occurredAt: expect.any(String),
      actor: adminId,
      actorRole: 'ADMIN',
      action: 'BALANCE_ADJUSTED',
      requestId,
      targetUserId: userId,
      details: {
        currency: 'BTC',
        amount: '1.5',
        reason: 'goodwill credit, ticket #42',
        eventSeq: expect.stringMatching(/^\d+$/),
        adjustmentId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        actorSessionId: admin.sessionId,
      },
    });

    // The journal books the core's FundsMoved event (once), against ADJUSTMENTS.
    await caughtUp();
    const entries = await testDb.db.query<{
      kind: string;
      account_key: string;
      debit: string;
      credit: string;
    }>(
      `SELECT t.kind, e.account_key, e.debit::text AS debit, e.credit::text AS credit
       FROM journal_entries e JOIN journal_transactions t ON t.event_seq = e.event_seq AND t.leg = e.leg
       WHERE e.event_seq = $1 ORDER BY e.leg, e.entry_index`,
      [eventSeq],
    );
    expect(entries.rows).toEqual([
      { kind: 'ADMIN_ADJUSTMENT', account_key: 'system:ADJUSTMENTS:BTC', debit: '150000000', credit: '0' },
      {
        kind: 'ADMIN_ADJUSTMENT',
        account_key: `user:${userId}:BTC:AVAILABLE`,
        debit: '0',
        credit: '150000000',
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
    // Taken back out: the exchange-wide sums must stay within the API's 40 integer digits.
    expect((await adjust(userId, 'ETH', `-${huge}`)).data!.adminAdjustBalance.total).toBe('0');
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

  it('audits an adjustment the core applied even when the ledger never heard the answer', async () => {
    // The core applies the command, then the answer is lost (the ledger died, the link broke).
    const answerLost: typeof core = Object.create(core) as typeof core;
    answerLost.submit = async (command) => {
      await core.submit(command);
      throw new Error('connection reset before the answer');
    };
    const ledger = createLedgerOperations({
      db: testDb.db,
      core: answerLost,
      assets: service.assets,
      logger: testLogger,
    });
    const userId = randomUUID();
    const requestId = `req-${randomUUID()}`;
    await expect(
      ledger.adminAdjustBalance(admin, requestId, {
        userId,
        currency: 'ETH',
        amount: '2.5',
        reason: 'lost answer',
        idempotencyKey: 'lost-1',
      }),
    ).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });

    await caughtUp();
    expect(await available(userId, 'ETH')).toBe('2.5');
    const audited = await auditRecordsAbout(userId);
    expect(audited).toEqual([
      {
        sourceKey: expect.stringMatching(/^adjustment:\d+$/),
        event: expect.objectContaining({
          actor: adminId,
          actorRole: 'ADMIN',
          action: 'BALANCE_ADJUSTED',
          requestId,
          targetUserId: userId,
          details: expect.objectContaining({ currency: 'ETH', amount: '2.5', reason: 'lost answer' }),
        }),
      },
    ]);
    // The admin retries with the same key: told the balance, not adjusted twice.
    const retried = await callSubgraph<{ adminAdjustBalance: AccountView }>(
      service.url,
      keyedAdjustMutation,
      { userId, currency: 'ETH', amount: '2.5', reason: 'lost answer', key: 'lost-1' },
      admin,
      config,
    );
    expect(retried.data?.adminAdjustBalance.available).toBe('2.5');
    expect(await available(userId, 'ETH')).toBe('2.5');
    expect(await auditRecordsAbout(userId)).toHaveLength(1);
  });

  it('audits an adjustment without an intent (made before intents existed) as the system’s', async () => {
    const userId = randomUUID();
    const outcome = await core.submit({
      type: 'AdminAdjust',
      userId,
      assetId: AssetIds.USDT,
      amountUnits: 7_000_000n,
    });
    expect(outcome.result.code).toBe(0);
    const moved = outcome.events.find((event) => event.type === 'FundsMoved')!;
    await caughtUp();
    expect(await auditRecordsAbout(userId)).toEqual([
      {
        sourceKey: `adjustment:${moved.eventSeq}`,
        event: expect.objectContaining({
          actor: 'system',
          actorRole: 'SYSTEM',
          action: 'BALANCE_ADJUSTED',
          requestId: `core:${moved.eventSeq}`,
          details: {
            currency: 'USDT',
            amount: '7',
            reason: 'unknown (no adjustment intent was recorded)',
            eventSeq: String(moved.eventSeq),
          },
        }),
      },
    ]);
  });

  it('answers a retry with the same idempotencyKey with the first answer, adjusting once', async () => {
    const userId = randomUUID();
    const call = (amount: string, key: string, identity: Identity = admin, reason = 'keyed') =>
      callSubgraph<{ adminAdjustBalance: AccountView }>(
        service.url,
        keyedAdjustMutation,
        { userId, currency: 'BTC', amount, reason, key },
        identity,
        config,
      );
    const first = await call('0.3', 'ticket-77');
    expect(first.errors).toBeUndefined();
    expect(first.data!.adminAdjustBalance.available).toBe('0.3');
    // Another movement in between: the retry still answers what the first request answered.
    expect((await adjust(userId, 'BTC', '1')).errors).toBeUndefined();
    const retried = await call('0.3', 'ticket-77');
    expect(retried).toEqual(first);
    await caughtUp();
    expect(await available(userId, 'BTC')).toBe('1.3');
    expect(await auditRecordsAbout(userId)).toHaveLength(2);

    const before = await snapshot();
    for (const [amount, reason] of [
      ['0.4', 'keyed'],
      ['0.3', 'another reason'],
    ] as const) {
      const reused = await call(amount, 'ticket-77', admin, reason);
      expect(reused.errors?.[0]?.extensions?.['code'], `${amount} ${reason}`).toBe('IDEMPOTENCY_KEY_REUSED');
    }
    const malformed = await call('0.3', 'with space');
    expect(malformed.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'idempotencyKey',
    });
    expect(await snapshot()).toEqual(before);

    // Keys are per admin: another admin's same key is another adjustment.
    const otherAdmin = { ...admin, userId: randomUUID(), sessionId: randomUUID() } as const;
    expect((await call('0.3', 'ticket-77', otherAdmin)).data!.adminAdjustBalance.available).toBe('1.6');
    // A refusal changes nothing, so the key can be used again once it would succeed.
    expect((await call('-5', 'ticket-78')).errors?.[0]?.extensions?.['code']).toBe('INSUFFICIENT_FUNDS');
    expect((await call('-1.6', 'ticket-78')).data!.adminAdjustBalance.available).toBe('0');
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
    await caughtUp();
    const audited = await testDb.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM audit_outbox WHERE event->>'targetUserId' = $1`,
      [userId],
    );
    expect(audited.rows[0]!.n).toBe('13');
    const journaled = await testDb.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM journal_transactions t JOIN journal_entries e ON e.event_seq = t.event_seq AND e.leg = t.leg
       WHERE t.kind = 'ADMIN_ADJUSTMENT' AND e.account_key = $1`,
      [`user:${userId}:BTC:AVAILABLE`],
    );
    expect(journaled.rows[0]!.n).toBe('13');
  });

  it('detects tampering with running balances, and the journal refuses edits and deletes', async () => {
    const userId = randomUUID();
    await adjust(userId, 'ETH', '2', 'first');
    await caughtUp();
    const key = `user:${userId}:ETH:AVAILABLE`;
    await testDb.db.query(`UPDATE ledger_accounts SET balance = balance + 1 WHERE account_key = $1`, [key]);
    expect((await verifyLedger(testDb.db)).join('\n')).toMatch(new RegExp(`account ${key}: stored balance`));
    const { problems } = await checkLedgerReconciliation(service.url, await headersOf(admin));
    expect(problems.join('\n')).toMatch(/ETH: ledger ≠ core/);
    await testDb.db.query(`UPDATE ledger_accounts SET balance = balance - 1 WHERE account_key = $1`, [key]);

    await expect(
      testDb.db.query(`UPDATE journal_entries SET credit = credit + 1 WHERE account_key = $1`, [key]),
    ).rejects.toThrow(/append-only/);
    await expect(
      testDb.db.query(`DELETE FROM journal_transactions WHERE kind = 'ADMIN_ADJUSTMENT'`),
    ).rejects.toThrow(/append-only/);
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

  it('shows a command in a balance read right after it, though the projection holds batches back', async () => {
    expect(ledgerProjectionLingerMs).toBeGreaterThan(0);
    // A second ledger on its own database whose projection lingers a minute after each batch.
    const lingeringDb = await openTestDatabase('ledger_linger', ledgerMigrationsDir);
    const lingering = await createLedgerService({
      db: lingeringDb.db,
      core,
      logger: testLogger,
      projectionLingerMs: 60_000,
    });
    try {
      await lingering.projection.waitFor(await core.lastEventSeq());
      const user = randomUUID();
      for (const amountUnits of [1_000_000n, 2_000_000n]) {
        const outcome = await core.submit({
          type: 'Deposit',
          userId: user,
          assetId: AssetIds.USDT,
          amountUnits,
        });
        expect(outcome.result.code).toBe(0);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(lingering.projection.position()).toBeLessThan(await core.lastEventSeq());
      const usdt = (await lingering.ledger.userAccounts(user)).find((a) => a.currency === 'USDT')!;
      expect(usdt.availableUnits).toBe(3_000_000n);
    } finally {
      await lingering.close();
      await lingeringDb.dispose();
    }
  });

  it('is idempotent by eventSeq and rebuilds from 0 into empty tables exactly as live', async () => {
    await caughtUp();
    const events = await allEvents();
    const journal = (db: TestDatabase['db']) =>
      Promise.all([
        db.query(
          'SELECT event_seq::text, leg, command_seq::text, kind, description, occurred_at FROM journal_transactions ORDER BY event_seq, leg',
        ),
        db.query(
          `SELECT event_seq::text, leg, entry_index, account_key, debit::text, credit::text, balance_after::text,
             account_version::text FROM journal_entries ORDER BY event_seq, leg, entry_index`,
        ),
        db.query(
          'SELECT account_key, balance::text, version::text FROM ledger_accounts ORDER BY account_key',
        ),
        db.query(
          'SELECT user_id, asset_id, available::text, locked::text, event_seq::text FROM core_balances ORDER BY user_id, asset_id',
        ),
      ]).then((results) => results.map((result) => result.rows));
    const live = await journal(testDb.db);
    expect(live[0]!.length).toBeGreaterThan(10);
    // Redelivery to the live projection changes nothing.
    await applyCoreEvents(testDb.db, service.assets, events.slice(0, 1000));
    await applyCoreEvents(testDb.db, service.assets, events.slice(-5));
    expect(await journal(testDb.db)).toEqual(live);

    const fresh = await openTestDatabase('ledger_rebuild', ledgerMigrationsDir);
    try {
      const catalog = new AssetCatalog();
      for (let start = 0, size = 1; start < events.length; start += size, size = (size % 7) + 1) {
        await applyCoreEvents(fresh.db, catalog, events.slice(start, start + size));
      }
      expect(await journal(fresh.db)).toEqual(live);
      expect(catalog.all()).toEqual(service.assets.all());
      expect(catalog.markets()).toEqual(service.assets.markets());
      const someone = (live[3]![0] as { user_id: string }).user_id;
      expect(await readUserAccounts(fresh.db, catalog, someone)).toEqual(
        await readCoreAccounts(testDb.db, service.assets, someone),
      );
      expect(await verifyLedger(fresh.db)).toEqual([]);
    } finally {
      await fresh.dispose();
    }

    // Two instances remembering what they booked, taking turns on one database: the same journal.
    const shared = await openTestDatabase('ledger_written', ledgerMigrationsDir);
    try {
      // Each its own catalog: an instance learns the assets and markets of the batches the other
      // applied (it must know them to book the batches it applies itself).
      const instances = [
        { catalog: new AssetCatalog(), written: new WrittenAccounts() },
        { catalog: new AssetCatalog(), written: new WrittenAccounts() },
      ] as const;
      for (let start = 0, size = 1, turn = 0; start < events.length; start += size, size = (size % 7) + 1) {
        const batch = events.slice(start, start + size);
        turn += 1;
        const [first, second] = turn % 5 === 0 ? [instances[1], instances[0]] : [instances[0], instances[1]];
        await applyCoreEvents(shared.db, first.catalog, batch, first.written);
        await applyCoreEvents(shared.db, second.catalog, batch, second.written);
      }
      expect(await journal(shared.db)).toEqual(live);
      for (const { catalog } of instances) {
        expect(catalog.all()).toEqual(service.assets.all());
        expect(catalog.markets()).toEqual(service.assets.markets());
      }
      expect(instances[0].written.states.size).toBeGreaterThan(0);
      expect(await verifyLedger(shared.db)).toEqual([]);
    } finally {
      await shared.dispose();
    }
  });

  it('refuses a remembered account state the table does not hold: the journal statement checks it', async () => {
    await caughtUp();
    const events = await allEvents();
    const fresh = await openTestDatabase('ledger_stale', ledgerMigrationsDir);
    try {
      const catalog = new AssetCatalog();
      const written = new WrittenAccounts();
      const half = Math.floor(events.length / 2);
      await applyCoreEvents(fresh.db, catalog, events.slice(0, half), written);
      // Every remembered state one unit off: the next batch that books any of them must fail.
      for (const [key, state] of written.states)
        written.states.set(key, { balanceUnits: state.balanceUnits + 1n, version: state.version });
      await expect(applyCoreEvents(fresh.db, catalog, events.slice(half), written)).rejects.toThrow();
      const position = await fresh.db.query<{ last_sequence: string }>(
        'SELECT last_sequence::text AS last_sequence FROM projection_positions',
      );
      expect(position.rows[0]!.last_sequence).toBe(String(events[half - 1]!.eventSeq));
    } finally {
      await fresh.dispose();
    }
  });

  it('stops loudly on a BalanceChanged the journal cannot explain, writing nothing of the batch', async () => {
    await caughtUp();
    const events = await allEvents();
    const fresh = await openTestDatabase('ledger_disagree', ledgerMigrationsDir);
    try {
      const catalog = new AssetCatalog();
      const deposit = events.findIndex((event) => event.type === 'FundsMoved' && event.kind === 'DEPOSIT');
      await applyCoreEvents(fresh.db, catalog, events.slice(0, deposit));
      const tampered = events
        .slice(deposit, deposit + 2)
        .map((event) =>
          event.type === 'BalanceChanged' ? { ...event, availableUnits: event.availableUnits + 1n } : event,
        );
      expect(tampered.map((event) => event.type)).toEqual(['FundsMoved', 'BalanceChanged']);
      await expect(applyCoreEvents(fresh.db, catalog, tampered)).rejects.toThrow(CoreJournalError);
      const position = await fresh.db.query<{ last_sequence: string }>(
        'SELECT last_sequence::text AS last_sequence FROM projection_positions',
      );
      expect(position.rows[0]!.last_sequence).toBe(String(deposit));
      const booked = await fresh.db.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM journal_entries WHERE event_seq > $1',
        [deposit],
      );
      expect(booked.rows[0]!.n).toBe('0');
      // The true events still apply afterwards.
      await applyCoreEvents(fresh.db, catalog, events.slice(deposit, deposit + 2));
      expect(await verifyLedger(fresh.db)).toEqual([]);
    } finally {
      await fresh.dispose();
    }
  });
});

const entriesQuery = `query($r: [_Any!]!, $first: Int, $after: String) { _entities(representations: $r) { ... on User {
  accounts { currency entries(first: $first, after: $after) {
    edges { cursor node { id transactionId kind side bucket amount balanceAfter eventSeq occurredAt description } }
    pageInfo { hasNextPage endCursor } } } } } }`;

interface EntryView {
  id: string;
  transactionId: string;
  kind: string;
  side: string;
  bucket: string;
  amount: string;
  balanceAfter: string;
  eventSeq: number;
  occurredAt: string;
  description: string;
}

async function entriesPage(
  userId: string,
  currency: string,
  first: number | null,
  after: string | null,
  identity: Identity = admin,
) {
  const response = await callSubgraph<{
    _entities: Array<{
      accounts: Array<{
        currency: string;
        entries: {
          edges: Array<{ cursor: string; node: EntryView }>;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      }>;
    }>;
  }>(service.url, entriesQuery, { r: [{ __typename: 'User', id: userId }], first, after }, identity, config);
  return {
    errors: response.errors,
    page: response.data?._entities[0]?.accounts.find((a) => a.currency === currency)?.entries,
  };
}

describe('Account.entries', () => {
  it('pages through a user’s journal entries newest first, every bucket of the account', async () => {
    const buyer = randomUUID();
    const seller = randomUUID();
    const submit = async (command: CoreCommand) => expect((await core.submit(command)).result.code).toBe(0);
    await submit({ type: 'Deposit', userId: buyer, assetId: AssetIds.USDT, amountUnits: 50_000_000_000n }); // 50,000
    await submit({ type: 'Deposit', userId: seller, assetId: AssetIds.BTC, amountUnits: 100_000_000n }); // 1 BTC
    const order = (userId: string, side: 'BUY' | 'SELL', priceTicks: number, lots: number) =>
      ({ ...limitOrder(0, MarketIds.BTC_USDT, side, priceTicks, lots), userId }) as CoreCommand;
    await submit(order(seller, 'SELL', 3_000_000, 50_000)); // 0.5 BTC @ 30000 rests
    await submit(order(buyer, 'BUY', 3_010_000, 10_000)); // takes 0.1 BTC @ 30000: 3000 USDT
    await submit({
      type: 'WithdrawHold',
      userId: buyer,
      assetId: AssetIds.USDT,
      withdrawalId: 9_001,
      amountUnits: 1_000_000_000n,
    });
    await caughtUp();

    const all = await entriesPage(buyer, 'USDT', 500, null, userIdentity(buyer));
    expect(all.errors).toBeUndefined();
    const nodes = all.page!.edges.map((edge) => edge.node);
    expect(all.page!.pageInfo.hasNextPage).toBe(false);
    // Newest first: withdrawal hold (2 entries), the order's release of its price improvement,
    // the trade's spend, the order hold, the deposit.
    expect(nodes.map((n) => [n.kind, n.side, n.bucket, n.amount, n.balanceAfter])).toEqual([
      ['WITHDRAWAL_HOLD', 'CREDIT', 'WITHDRAWING', '1000', '1000'],
      ['WITHDRAWAL_HOLD', 'DEBIT', 'AVAILABLE', '1000', '46000'],
      ['ORDER_RELEASE', 'CREDIT', 'AVAILABLE', '10', '47000'],
      ['ORDER_RELEASE', 'DEBIT', 'LOCKED', '10', '0'],
      ['TRADE', 'DEBIT', 'LOCKED', '3000', '10'],
      ['ORDER_HOLD', 'CREDIT', 'LOCKED', '3010', '3010'],
      ['ORDER_HOLD', 'DEBIT', 'AVAILABLE', '3010', '46990'],
      ['DEPOSIT', 'CREDIT', 'AVAILABLE', '50000', '50000'],
    ]);
    for (let i = 1; i < nodes.length; i++)
      expect(nodes[i]!.eventSeq).toBeLessThanOrEqual(nodes[i - 1]!.eventSeq);
    expect(nodes[0]!.transactionId).toBe(nodes[1]!.transactionId);
    expect(nodes[0]!.id).toMatch(/^\d+\.\d+\.\d+$/);
    expect(new Date(nodes.at(-1)!.occurredAt).toISOString()).toBe(nodes.at(-1)!.occurredAt);

    // Pages of 3 add up to the whole list, in order, without repeats.
    const paged: EntryView[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const { errors, page } = await entriesPage(buyer, 'USDT', 3, after);
      expect(errors).toBeUndefined();
      paged.push(...page!.edges.map((edge) => edge.node));
      expect(page!.pageInfo.endCursor).toBe(page!.edges.at(-1)?.cursor ?? null);
      if (!page!.pageInfo.hasNextPage) break;
      after = page!.pageInfo.endCursor;
    }
    expect(paged).toEqual(nodes);
    // The default page size is 50; BTC shows the buyer's trade credit net of the 0.2 % taker fee.
    const btc = await entriesPage(buyer, 'BTC', null, null);
    expect(btc.page!.edges.map((edge) => [edge.node.kind, edge.node.amount])).toEqual([['TRADE', '0.0998']]);
  });

  it('has the visibility of User.accounts and refuses bad page arguments', async () => {
    const owner = randomUUID();
    await adjust(owner, 'BTC', '1');
    await caughtUp();
    expect(
      (await entriesPage(owner, 'BTC', 5, null, userIdentity(randomUUID()))).errors?.[0]?.extensions?.[
        'code'
      ],
    ).toBe('FORBIDDEN');
    expect(
      (await entriesPage(owner, 'BTC', 5, null, { kind: 'anonymous' })).errors?.[0]?.extensions?.['code'],
    ).toBe('UNAUTHENTICATED');
    const staffKey: Identity = {
      kind: 'apiKey',
      userId: randomUUID(),
      role: 'SUPPORT',
      apiKeyId: 'k-support',
      scopes: ['READ'],
      persistedOnly: false,
    };
    expect((await entriesPage(owner, 'BTC', 5, null, staffKey)).errors?.[0]?.extensions?.['code']).toBe(
      'FORBIDDEN',
    );
    for (const role of ['SUPPORT', 'COMPLIANCE'] as const) {
      const staff = await entriesPage(owner, 'BTC', 5, null, userIdentity(randomUUID(), role));
      expect(
        staff.page!.edges.map((edge) => edge.node.amount),
        role,
      ).toEqual(['1']);
    }
    for (const first of [0, -1, 501]) {
      const response = await entriesPage(owner, 'BTC', first, null);
      expect(response.errors?.[0]?.extensions, String(first)).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'first',
      });
    }
    for (const after of ['garbage', Buffer.from('1.2').toString('base64url')]) {
      const response = await entriesPage(owner, 'BTC', 5, after);
      expect(response.errors?.[0]?.extensions, after).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'after',
      });
    }
  });
});

const reconciliationQuery = `{ ledgerReconciliation { sequence balanced ok custodyNote assets {
  currency userAvailable userLocked pendingWithdrawals feeRevenue custody adjustments conservation ledgerMatchesCore
  custodyOnChain custodyMatchesChain mismatches { userId } } } }`;

describe('ledgerReconciliation', () => {
  it('is for signed-in ADMIN and COMPLIANCE only (no API keys)', async () => {
    for (const role of ['USER', 'SUPPORT'] as const) {
      const response = await callSubgraph(
        service.url,
        reconciliationQuery,
        {},
        userIdentity(randomUUID(), role),
        config,
      );
      expect(response.errors?.[0]?.extensions?.['code'], role).toBe('FORBIDDEN');
    }
    const anonymous = await callSubgraph(service.url, reconciliationQuery, {}, { kind: 'anonymous' }, config);
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const adminKey: Identity = {
      kind: 'apiKey',
      userId: adminId,
      role: 'ADMIN',
      apiKeyId: 'k1',
      scopes: ['READ', 'TRADE', 'WITHDRAW'],
      persistedOnly: false,
    };
    const byKey = await callSubgraph(service.url, reconciliationQuery, {}, adminKey, config);
    expect(byKey.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const compliance = await callSubgraph(
      service.url,
      reconciliationQuery,
      {},
      userIdentity(randomUUID(), 'COMPLIANCE'),
      config,
    );
    expect(compliance.errors).toBeUndefined();
  });

  it('is not ok while the projection is behind the core, and says by how many events', async () => {
    // A second ledger on an empty database whose projection has not run: a stalled projection.
    const stalled = await openTestDatabase('ledger', ledgerMigrationsDir);
    try {
      const catalog = new AssetCatalog();
      const ledger = createLedgerOperations({ db: stalled.db, core, assets: catalog, logger: testLogger });
      const coreSequence = await core.lastEventSeq();
      const behind = await ledger.reconciliation(admin);
      expect(behind).toMatchObject({ sequence: 0, coreSequence, lagEvents: coreSequence, caughtUp: false });
      // Everything else agrees with itself: only the lag makes it not ok.
      expect(behind.balanced).toBe(true);
      expect(behind.ok).toBe(false);

      const events = await allEvents();
      for (let i = 0; i < events.length; i += 1000)
        await applyCoreEvents(stalled.db, catalog, events.slice(i, i + 1000));
      const caught = await ledger.reconciliation(admin);
      expect(caught).toMatchObject({ sequence: coreSequence, lagEvents: 0, caughtUp: true });
      expect(caught.coreSequence).toBeGreaterThanOrEqual(coreSequence);
      expect(caught.ok).toBe(caught.coreSequence === coreSequence);
    } finally {
      await stalled.dispose();
    }
  });

  it('reports figures the core’s event log confirms, at the core’s sequence', async () => {
    await core.submit({ type: 'WithdrawSettle', withdrawalId: 9_001 });
    const holder = randomUUID();
    await core.submit({ type: 'Deposit', userId: holder, assetId: AssetIds.BTC, amountUnits: 10n });
    expect(
      (
        await core.submit({
          type: 'WithdrawHold',
          userId: holder,
          assetId: AssetIds.BTC,
          withdrawalId: 9_002,
          amountUnits: 1n,
        })
      ).result.code,
    ).toBe(0);
    await caughtUp();
    const events = await allEvents();
    const catalog = new AssetCatalog();
    for (const event of events)
      if (event.type === 'AssetAdded')
        catalog.add({ assetId: event.assetId, symbol: event.symbol, decimals: event.decimals });
    const expected = new Map(
      catalog.all().map((asset) => [asset.symbol, { custody: 0n, adjustments: 0n, fees: 0n, pending: 0n }]),
    );
    const withdrawals = new Map<number, { symbol: string; units: bigint }>();
    const symbolOf = (assetId: number) => catalog.byId(assetId)!.symbol;
    const market = new Map<number, [string, string]>();
    for (const event of events) {
      if (event.type === 'MarketAdded')
        market.set(event.market.marketId, [
          symbolOf(event.market.baseAssetId),
          symbolOf(event.market.quoteAssetId),
        ]);
      if (event.type === 'FundsMoved') {
        const figures = expected.get(symbolOf(event.assetId))!;
        if (event.kind === 'DEPOSIT') figures.custody += event.amountUnits;
        if (event.kind === 'ADMIN_ADJUST') figures.adjustments += event.amountUnits;
        if (event.kind === 'WITHDRAW_HOLD') figures.pending += event.amountUnits;
        if (event.kind === 'WITHDRAW_RELEASE') figures.pending -= event.amountUnits;
        if (event.kind === 'WITHDRAW_SETTLE') {
          figures.custody -= event.amountUnits;
          figures.pending -= event.amountUnits;
        }
        if (event.withdrawalId !== null)
          withdrawals.set(event.withdrawalId, { symbol: symbolOf(event.assetId), units: event.amountUnits });
      }
      if (event.type === 'Trade') {
        const [base, quote] = market.get(event.marketId)!;
        const [baseFee, quoteFee] =
          event.takerSide === 'BUY'
            ? [event.takerFeeUnits, event.makerFeeUnits]
            : [event.makerFeeUnits, event.takerFeeUnits];
        expected.get(base)!.fees += baseFee;
        expected.get(quote)!.fees += quoteFee;
      }
    }
    const response = await callSubgraph<{
      ledgerReconciliation: {
        sequence: number;
        balanced: boolean;
        ok: boolean;
        custodyNote: string | null;
        assets: Array<Record<string, unknown>>;
      };
    }>(service.url, reconciliationQuery, {}, admin, config);
    expect(response.errors).toBeUndefined();
    const report = response.data!.ledgerReconciliation;
    expect(report).toMatchObject({ sequence: events.at(-1)!.eventSeq, balanced: true, ok: true });
    expect(report.custodyNote).toMatch(/ETH_RPC_URL is not set/);
    const units = (symbol: string, value: bigint) => formatDecimal(value, catalog.bySymbol(symbol)!.decimals);
    for (const asset of catalog.all()) {
      const figures = expected.get(asset.symbol)!;
      expect(
        report.assets.find((a) => a['currency'] === asset.symbol),
        asset.symbol,
      ).toMatchObject({
        custody: units(asset.symbol, figures.custody),
        adjustments: units(asset.symbol, figures.adjustments),
        feeRevenue: units(asset.symbol, figures.fees),
        pendingWithdrawals: units(asset.symbol, figures.pending),
        conservation: true,
        ledgerMatchesCore: true,
        mismatches: [],
        custodyOnChain: null,
        custodyMatchesChain: null,
      });
    }
    expect(expected.get('USDT')!.pending).toBe(0n);
    expect(expected.get('BTC')!.pending).toBe(1n);
    expect(custodyCallers.every((caller) => caller === 'ledger')).toBe(true);
  });

  it('compares custody with what the chain holds, when the wallets service knows it', async () => {
    await caughtUp();
    const before = await checkLedgerReconciliation(service.url, await headersOf(admin));
    const decimals = { BTC: 8, ETH: 18, USDT: 6 } as const;
    const units = (currency: keyof typeof decimals) => {
      const [whole, fraction = ''] = before.report.assets
        .find((a) => a.currency === currency)!
        .custody.split('.');
      return BigInt(whole! + fraction.padEnd(decimals[currency], '0'));
    };
    try {
      custodyAnswer = {
        available: true,
        blockNumber: 1234,
        assets: (['BTC', 'ETH', 'USDT'] as const).map((currency) => ({
          currency,
          userCustodyUnits: units(currency).toString(),
        })),
      };
      const matching = await checkLedgerReconciliation(service.url, await headersOf(admin), {
        requireChain: ['BTC', 'ETH', 'USDT'],
      });
      expect(matching.problems).toEqual([]);
      expect(matching.report.custodyNote).toBeNull();
      expect(matching.report.chainBlockNumber).toBe(1234);
      expect(
        matching.report.assets.map((a) => [
          a.currency,
          a.custodyMatchesChain,
          a.custodyOnChain === a.custody,
        ]),
      ).toEqual([
        ['BTC', true, true],
        ['ETH', true, true],
        ['USDT', true, true],
      ]);

      custodyAnswer = {
        available: true,
        blockNumber: 1235,
        assets: [
          { currency: 'BTC', userCustodyUnits: (units('BTC') - 1n).toString() },
          { currency: 'ETH', userCustodyUnits: units('ETH').toString() },
        ],
      };
      const short = await checkLedgerReconciliation(service.url, await headersOf(admin));
      expect(short.report.ok).toBe(false);
      expect(short.problems).toEqual([expect.stringMatching(/BTC: custody .* ≠ chain/)]);
      expect(short.report.assets.find((a) => a.currency === 'USDT')!.custodyMatchesChain).toBeNull();
      expect(short.report.custodyNote).toMatch(/no custody for USDT/);

      custodyAnswer = { available: true, blockNumber: 'soon', assets: [] };
      const malformed = await checkLedgerReconciliation(service.url, await headersOf(admin));
      expect(malformed.report.ok).toBe(true);
      expect(malformed.report.custodyNote).toMatch(/malformed/);
      expect(malformed.report.chainBlockNumber).toBeNull();
    } finally {
      custodyAnswer = { available: false, reason: 'ETH_RPC_URL is not set', blockNumber: 0, assets: [] };
    }
  });
});
