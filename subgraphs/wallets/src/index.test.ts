import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { RunningService } from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import {
  createWalletsService,
  keyringFromXpub,
  recordTransaction,
  startWallets,
  walletsMigrationsDir,
} from './index.ts';
import { testXpub } from './test-fixtures.ts';

const alice = userIdentity('user-alice');
const bob = userIdentity('user-bob');

const createAddress =
  'mutation ($currency: String!) { createDepositAddress(currency: $currency) { currency address } }';
const transactionsQuery = `query ($id: ID!, $first: Int, $after: String) {
  _entities(representations: [{ __typename: "User", id: $id }]) {
    ... on User { transactions(first: $first, after: $after) { id type currency amount status address txHash confirmations createdAt } }
  }
}`;

interface TransactionView {
  id: string;
  type: string;
  currency: string;
  amount: string;
  status: string;
  address: string | null;
  txHash: string | null;
  confirmations: number;
  createdAt: string;
}

function transactionsOf(
  url: string,
  identity: ReturnType<typeof userIdentity>,
  variables: Record<string, unknown>,
) {
  return callSubgraph<{ _entities: Array<{ transactions: TransactionView[] }> }>(
    url,
    transactionsQuery,
    variables,
    identity,
  );
}

let test: TestDatabase;
let service: RunningService;
/** Alice's transaction ids, newest first (created_at desc, id desc). */
const aliceIds: string[] = [];

beforeAll(async () => {
  test = await openTestDatabase('wallets', walletsMigrationsDir);
  service = await createWalletsService({
    config: testConfig(),
    db: test.db,
    depositKeyring: keyringFromXpub(testXpub, 'environment'),
    port: 0,
    logger: testLogger,
  });
  const records: Array<{ id: string; createdAt: Date }> = [];
  for (let i = 0; i < 17; i++) {
    // Pairs share a timestamp so the id tie-breaker matters.
    const createdAt = new Date(Date.UTC(2026, 1, 1, 0, 0, Math.floor(i / 2)));
    const id = `tx-${String(i).padStart(2, '0')}`;
    await recordTransaction(test.db, {
      id,
      userId: 'user-alice',
      type: i % 3 === 0 ? 'WITHDRAWAL' : 'DEPOSIT',
      currency: i % 2 === 0 ? 'ETH' : 'USDT',
      amountBaseUnits: 1_234_567_890_123_456_789n + BigInt(i),
      status: 'CONFIRMED',
      address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      txHash: `0x${i.toString(16).padStart(64, '0')}`,
      confirmations: 12,
      createdAt,
    });
    records.push({ id, createdAt });
  }
  await recordTransaction(test.db, {
    id: 'tx-bob',
    userId: 'user-bob',
    type: 'DEPOSIT',
    currency: 'USDT',
    amountBaseUnits: 1n,
    status: 'PENDING',
  });
  aliceIds.push(
    ...records
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => r.id),
  );
});

afterAll(async () => {
  await service?.close();
  await test?.dispose();
});

describe('wallets service: transport', () => {
  it('answers /health', async () => {
    expect((await fetch(service.url.replace('/graphql', '/health'))).status).toBe(200);
  });

  it('is UNAUTHENTICATED (401) without the gateway identity', async () => {
    const result = await callSubgraph(service.url, createAddress, { currency: 'ETH' }, null);
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('createDepositAddress', () => {
  it('derives the next BIP-44 address per (user, currency), idempotently', async () => {
    const eth = await callSubgraph(service.url, createAddress, { currency: 'ETH' }, alice);
    expect(eth.errors).toBeUndefined();
    expect(eth.data).toEqual({
      createDepositAddress: { currency: 'ETH', address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' },
    });
    const again = await callSubgraph(service.url, createAddress, { currency: 'ETH' }, alice);
    expect(again.data).toEqual(eth.data);
    const usdt = await callSubgraph(service.url, createAddress, { currency: 'USDT' }, alice);
    expect(usdt.data).toEqual({
      createDepositAddress: { currency: 'USDT', address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
    });
  });

  it('gives concurrent first requests of one user the same address, and other users other addresses', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        callSubgraph<{ createDepositAddress: { address: string } }>(
          service.url,
          createAddress,
          { currency: 'ETH' },
          bob,
        ),
      ),
    );
    const addresses = new Set(results.map((result) => result.data?.createDepositAddress.address));
    expect(addresses.size).toBe(1);
    expect([...addresses][0]).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(addresses.has('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')).toBe(false);
    const listed = await callSubgraph(
      service.url,
      '{ _entities(representations: [{ __typename: "User", id: "user-bob" }]) { ... on User { depositAddresses { currency address } } } }',
      {},
      bob,
    );
    expect(listed.data).toEqual({
      _entities: [{ depositAddresses: [{ currency: 'ETH', address: [...addresses][0] }] }],
    });
  });

  it('refuses unsupported currencies with BAD_USER_INPUT and anonymous callers with UNAUTHENTICATED', async () => {
    for (const currency of ['BTC', 'DOGE', 'eth']) {
      const result = await callSubgraph(service.url, createAddress, { currency }, alice);
      expect(result.errors?.[0]?.extensions?.['code'], currency).toBe('BAD_USER_INPUT');
    }
    const anonymousCall = await callSubgraph(service.url, createAddress, { currency: 'ETH' });
    expect(anonymousCall.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('User.transactions', () => {
  it('pages newest first without duplicates or gaps, with exact amounts', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 10; guard++) {
      const result = await transactionsOf(service.url, alice, { id: 'user-alice', first: 4, after });
      expect(result.errors).toBeUndefined();
      const page = result.data!._entities[0]!.transactions;
      seen.push(...page.map((transaction) => transaction.id));
      if (page.length < 4) break;
      after = page.at(-1)!.id;
    }
    expect(seen).toEqual(aliceIds);
    const first = await transactionsOf(service.url, alice, { id: 'user-alice', first: 1 });
    expect(first.data!._entities[0]!.transactions[0]).toEqual({
      id: 'tx-16',
      type: 'DEPOSIT',
      currency: 'ETH',
      amount: '1.234567890123456805',
      status: 'CONFIRMED',
      address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      txHash: `0x${(16).toString(16).padStart(64, '0')}`,
      confirmations: 12,
      createdAt: '2026-02-01T00:00:08.000Z',
    });
  });

  it('formats each currency with its own decimals', async () => {
    const result = await transactionsOf(service.url, alice, { id: 'user-alice', first: 200 });
    const usdt = result.data!._entities[0]!.transactions.find((transaction) => transaction.id === 'tx-15');
    // 1234567890123456789 + 15 base units of USDT (6 decimals)
    expect(usdt?.amount).toBe('1234567890123.456804');
  });

  it('refuses bad cursors (unknown or someone else’s id) and page sizes with BAD_USER_INPUT', async () => {
    for (const variables of [
      { after: 'tx-nope' },
      { after: 'tx-bob' },
      { after: '' },
      { first: 0 },
      { first: 201 },
    ]) {
      const result = await transactionsOf(service.url, alice, { id: 'user-alice', ...variables });
      expect(result.errors?.[0]?.extensions?.['code'], JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    }
  });

  it('is FORBIDDEN for another user, visible to COMPLIANCE, UNAUTHENTICATED for anonymous', async () => {
    const asBob = await transactionsOf(service.url, bob, { id: 'user-alice' });
    expect(asBob.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(JSON.stringify(asBob.data)).not.toContain('tx-');
    const asCompliance = await transactionsOf(service.url, userIdentity('officer', 'COMPLIANCE'), {
      id: 'user-alice',
      first: 3,
    });
    expect(asCompliance.data!._entities[0]!.transactions.map((transaction) => transaction.id)).toEqual(
      aliceIds.slice(0, 3),
    );
    const asAnonymous = await callSubgraph(service.url, transactionsQuery, { id: 'user-alice' });
    expect(asAnonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('resolves Transaction references only for callers who may see them', async () => {
    const query =
      '{ _entities(representations: [{ __typename: "Transaction", id: "tx-03" }]) { ... on Transaction { id type } } }';
    expect((await callSubgraph(service.url, query, {}, alice)).data).toEqual({
      _entities: [{ id: 'tx-03', type: 'WITHDRAWAL' }],
    });
    expect((await callSubgraph(service.url, query, {}, bob)).data).toEqual({ _entities: [null] });
  });

  it('records a transaction once per id', async () => {
    const transaction = {
      id: 'tx-once',
      userId: 'user-carol',
      type: 'DEPOSIT',
      currency: 'ETH',
      amountBaseUnits: 5n,
      status: 'PENDING',
    } as const;
    expect(await recordTransaction(test.db, transaction)).toBe(true);
    expect(await recordTransaction(test.db, { ...transaction, amountBaseUnits: 6n })).toBe(false);
    await expect(
      recordTransaction(test.db, { ...transaction, id: 'tx-doge', currency: 'DOGE' }),
    ).rejects.toThrow(RangeError);
    await expect(
      recordTransaction(test.db, { ...transaction, id: 'tx-zero', amountBaseUnits: 0n }),
    ).rejects.toThrow(RangeError);
    const result = await transactionsOf(service.url, userIdentity('user-carol'), { id: 'user-carol' });
    expect(result.data!._entities[0]!.transactions.map((t) => t.amount)).toEqual(['0.000000000000000005']);
  });
});

describe('wallets restart', () => {
  const databaseUrl = process.env['DATABASE_URL'];
  const schema = databaseUrl ? `wallets_r${Date.now().toString(36)}` : 'wallets';
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-wallets-svc-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });

  it('keeps the development wallet and issued addresses across restarts', async () => {
    const config = testConfig({ DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    const options = { port: 0, logger: testLogger, schema, env: {} };
    const first = await startWallets(config, options);
    const before = await callSubgraph<{ createDepositAddress: { address: string } }>(
      first.url,
      createAddress,
      { currency: 'USDT' },
      alice,
    );
    await first.close();
    const second = await startWallets(config, options);
    const after = await callSubgraph<{ createDepositAddress: { address: string } }>(
      second.url,
      createAddress,
      { currency: 'USDT' },
      alice,
    );
    const other = await callSubgraph<{ createDepositAddress: { address: string } }>(
      second.url,
      createAddress,
      { currency: 'ETH' },
      alice,
    );
    await second.close();
    expect(after.data?.createDepositAddress.address).toBe(before.data?.createDepositAddress.address);
    expect(other.data?.createDepositAddress.address).not.toBe(before.data?.createDepositAddress.address);
  });
});
