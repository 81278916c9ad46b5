/**
 * Withdrawals end to end against a real local Ethereum node (Hardhat, manual mining), a
 * solc-compiled USDT-like token and the real in-process matching core, on PGlite or PostgreSQL,
 * through the wallets subgraph's GraphQL API. Identity is an in-memory implementation of its
 * internal client (KYC policy, TOTP outcomes); `withdrawal-identity.test.ts` uses the real one.
 *
 * After every scenario: per user and asset the core's available + locked equals Σ credited
 * deposits − Σ settled withdrawals, locked equals what is still held, and the custody report's
 * userCustodyUnits equals Σ credited deposits − Σ settled withdrawals (what the ledger books).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AbiCoder,
  HDNodeWallet,
  keccak256,
  parseEther,
  zeroPadValue,
  Transaction as EthTransaction,
  Wallet,
  type JsonRpcProvider,
} from 'ethers';
import { createInProcessCoreClient, type InProcessCoreClient } from '@graphex/matching-core';
import { serviceTokenHeader, signServiceToken } from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import type { CoreClient } from '@graphex/schema';
import type {
  Identity,
  IdentityInternalClient,
  RunningService,
  TwoFactorOutcome,
  WithdrawalPolicy,
} from '@graphex/runtime';
import {
  deployTestToken,
  localProvider,
  localSigner,
  startLocalChain,
  type LocalChain,
  type TestToken,
} from '@graphex/tests/chain';
import { createWalletsService, custodyPath, startWallets, walletsMigrationsDir } from '../index.ts';
import { depositTransactionId } from '../domain/deposit.ts';
import type { AmlConfig, WithdrawalStatus } from '../domain/withdrawal.ts';
import { listChainDeposits, statusHistoryOf } from '../store/chain.ts';
import { depositAddressFor } from '../store/wallets.ts';
import { findWithdrawal, hotWalletNextNonce, withdrawalsInStatus } from '../store/withdrawals.ts';
import { createWithdrawalService, type WithdrawalService } from '../withdrawal-service.ts';
import { custodyReport } from './custody.ts';
import { accountPath, keyringFromXpub, type DepositKeyring } from './deposit-keys.ts';
import { ChainWatcher, scanCoreEvents, type ChainWatcherConfig } from './watcher.ts';
import { WithdrawalProcessor, type WithdrawalProcessorConfig } from './withdrawal-processor.ts';

const minConfirmations = 3;
/**
 * Long enough that no lease or intent grace runs out on a loaded machine mid-test; where a test
 * needs one over, it expires it in SQL (`expireProcessorLease`, `ageIntent`) instead of sleeping.
 */
const leaseTtlMs = 30_000;
const assetIdOf: Record<string, number> = { ETH: 2, USDT: 3 };
const sanctioned = '0x000000000000000000000000000000000000dEaD';

let chain: LocalChain;
let provider: JsonRpcProvider;
let funder: Wallet;
let token: TestToken;
let core: InProcessCoreClient;
let coreDir: string;
let test: TestDatabase;
let keyring: DepositKeyring;
let watcherConfig: ChainWatcherConfig;
let processorConfig: WithdrawalProcessorConfig;
let hotWallet: Wallet;
let watcher: ChainWatcher;
let service: RunningService;
let withdrawals: WithdrawalService;

const aml: AmlConfig = {
  amountThresholdUnits: { ETH: parseEther('5'), USDT: 10_000_000_000n },
  velocityMaxCount: 100,
  velocityMaxUnits: { ETH: parseEther('1000'), USDT: 100_000_000_000n },
  sanctionedAddresses: new Set([sanctioned.toLowerCase()]),
};

// ---------------------------------------------------------------------------------------------
// Identity, in memory: what its internal client answers (KYC policy, TOTP outcomes).

interface FakeUser {
  kycStatus: WithdrawalPolicy['kycStatus'];
  kycTier: number;
  twoFactorEnabled: boolean;
  locked: boolean;
  usedCodes: Set<string>;
}
const identityUsers = new Map<string, FakeUser>();
const tierLimits: Record<number, Record<string, string>> = {
  0: { ETH: '0', USDT: '0' },
  1: { ETH: '30', USDT: '50000' },
};
let totpChecks = 0;
/** While set, code checks wait for it (a slow identity service: requests overlap). */
let twoFactorHeld: Promise<void> | null = null;
const fakeIdentity: IdentityInternalClient = {
  sessionStatus: async () => ({ active: true, role: 'USER' }),
  verifyApiKey: async () => null,
  verifyTwoFactor: async (userId, code): Promise<TwoFactorOutcome> => {
    totpChecks++;
    if (twoFactorHeld) await twoFactorHeld;
    const user = identityUsers.get(userId);
    if (!user?.twoFactorEnabled) return 'NOT_ENABLED';
    if (user.locked) return 'LOCKED';
    // The "authenticator": any 6 digits except 000000, each usable once.
    if (code === '000000' || user.usedCodes.has(code)) return 'INVALID';
    user.usedCodes.add(code);
    return 'OK';
  },
  withdrawalPolicy: async (userId) => {
    const user = identityUsers.get(userId);
    if (!user) return null;
    return {
      kycStatus: user.kycStatus,
      kycTier: user.kycTier,
      twoFactorEnabled: user.twoFactorEnabled,
      limits: Object.entries(tierLimits[user.kycTier]!).map(([currency, limit24h]) => ({
        currency,
        limit24h,
      })),
    };
  },
};
let codeCounter = 100_000;
const freshCode = (): string => String(++codeCounter);

function newUser(overrides: Partial<FakeUser> = {}): string {
  const id = randomUUID();
  identityUsers.set(id, {
    kycStatus: 'APPROVED',
    kycTier: 1,
    twoFactorEnabled: true,
    locked: false,
    usedCodes: new Set(),
    ...overrides,
  });
  return id;
}

// ---------------------------------------------------------------------------------------------
// Chain and processor helpers

const processors: WithdrawalProcessor[] = [];

function newProcessor(
  options: {
    provider?: JsonRpcProvider;
    config?: Partial<WithdrawalProcessorConfig>;
    core?: CoreClient;
  } = {},
): WithdrawalProcessor {
  const processor = new WithdrawalProcessor({
    db: test.db,
    core: options.core ?? core,
    provider: options.provider ?? provider,
    wallet: hotWallet,
    config: { ...processorConfig, ...options.config },
    aml,
    logger: testLogger,
  });
  processors.push(processor);
  return processor;
}

let processor: WithdrawalProcessor;

afterEach(async () => {
  for (const extra of processors.splice(0)) if (extra !== processor) await extra.stop();
  processors.push(processor);
});

/** Mines `blocks` blocks, then lets the watcher and the processor catch up. */
async function advance(blocks = 1, using: WithdrawalProcessor = processor): Promise<void> {
  await chain.mine(blocks);
  await watcher.pollOnce();
  await using.pollOnce();
}

async function statusOf(id: string): Promise<WithdrawalStatus | undefined> {
  return (await findWithdrawal(test.db, id))?.status;
}

/** Advances the chain until the withdrawal reaches `status` (at most `maxBlocks` blocks). */
async function advanceUntil(id: string, status: WithdrawalStatus, maxBlocks = 20): Promise<void> {
  for (let i = 0; i < maxBlocks && (await statusOf(id)) !== status; i++) await advance(1);
  expect(await statusOf(id)).toBe(status);
}

/** Credits `amount` of `currency` to `userId` through a real on-chain deposit. */
async function deposit(userId: string, currency: 'ETH' | 'USDT', amount: bigint): Promise<void> {
  const address = (await depositAddressFor(test.db, keyring, userId, currency, 'ethereum')).address;
  const hash =
    currency === 'ETH'
      ? (await funder.sendTransaction({ to: address, value: amount })).hash
      : ((await token.connect(funder).getFunction('transfer')(address, amount)) as { hash: string }).hash;
  await chain.mine(minConfirmations);
  await watcher.pollOnce();
  const id = depositTransactionId('ethereum', hash.toLowerCase(), currency === 'ETH' ? -1 : 0);
  const credited = (await listChainDeposits(test.db, 'ethereum')).find((d) => d.transactionId === id);
  expect(credited?.status).toBe('CONFIRMED');
}

/** The storage slot of the hot wallet's balance in TestUSDT (its balanceOf mapping is slot 1). */
function hotWalletUsdtSlot(): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [hotWallet.address, 1]));
}

/** Sets the hot wallet's USDT balance to 0 on the current chain; returns the stored value. */
async function emptyHotWalletUsdt(): Promise<string> {
  const original = await chain.rpc<string>('eth_getStorageAt', [
    token.address,
    hotWalletUsdtSlot(),
    'latest',
  ]);
  await chain.rpc('hardhat_setStorageAt', [token.address, hotWalletUsdtSlot(), zeroPadValue('0x00', 32)]);
  return original;
}

/** { available, locked } per `${userId}:${assetId}`, folded from the core's BalanceChanged events. */
async function coreBalances(): Promise<Map<string, { available: bigint; locked: bigint }>> {
  const balances = new Map<string, { available: bigint; locked: bigint }>();
  await scanCoreEvents(core, 0, (event) => {
    if (event.type === 'BalanceChanged') {
      balances.set(`${event.userId}:${event.assetId}`, {
        available: event.availableUnits,
        locked: event.lockedUnits,
      });
    }
    return false;
  });
  return balances;
}

async function coreBalance(userId: string, currency: string): Promise<{ available: bigint; locked: bigint }> {
  return (await coreBalances()).get(`${userId}:${assetIdOf[currency]!}`) ?? { available: 0n, locked: 0n };
}

/** The core's FundsMoved events of one kind for a core withdrawal id. */
async function fundsMoved(kind: string, coreWithdrawalId: number): Promise<number> {
  let count = 0;
  await scanCoreEvents(core, 0, (event) => {
    if (event.type === 'FundsMoved' && event.kind === kind && event.withdrawalId === coreWithdrawalId)
      count++;
    return false;
  });
  return count;
}

const heldStatuses = new Set([
  'HELD',
  'PENDING_REVIEW',
  'APPROVED',
  'SIGNED',
  'BROADCAST',
  'MINED',
  'CONFIRMED',
  'NEEDS_ATTENTION',
  'FAILED',
  'REJECTED',
]);

/**
 * Conservation per user and asset (core vs wallets' records) and custody per asset (the chain, as
 * the custody report reads it, vs credited deposits − settled withdrawals).
 */
async function expectConservationAndCustody(): Promise<void> {
  await watcher.pollOnce();
  const expected = new Map<string, { total: bigint; locked: bigint }>();
  const entry = (key: string) => {
    let value = expected.get(key);
    if (!value) expected.set(key, (value = { total: 0n, locked: 0n }));
    return value;
  };
  const custodyExpected: Record<string, bigint> = { ETH: 0n, USDT: 0n };
  for (const credited of await listChainDeposits(test.db, 'ethereum')) {
    if (credited.status !== 'CONFIRMED') continue;
    entry(`${credited.userId}:${assetIdOf[credited.currency]!}`).total += credited.amountBaseUnits;
    custodyExpected[credited.currency]! += credited.amountBaseUnits;
  }
  const all = await withdrawalsInStatus(
    test.db,
    ['REQUESTED', ...([...heldStatuses] as WithdrawalStatus[]), 'COMPLETED', 'RELEASED'],
    10_000,
  );
  for (const withdrawal of all) {
    const value = entry(`${withdrawal.userId}:${assetIdOf[withdrawal.currency]!}`);
    if (withdrawal.status === 'COMPLETED') {
      value.total -= withdrawal.amountBaseUnits;
      custodyExpected[withdrawal.currency]! -= withdrawal.amountBaseUnits;
    }
    // FAILED/REJECTED stay held until the release is done (a FAILED that never held has no hold).
    if (heldStatuses.has(withdrawal.status) && withdrawal.coreIntent !== 'HOLD')
      value.locked += withdrawal.amountBaseUnits;
  }
  const balances = await coreBalances();
  for (const [key, value] of expected) {
    const balance = balances.get(key) ?? { available: 0n, locked: 0n };
    expect({ key, total: balance.available + balance.locked, locked: balance.locked }).toEqual({
      key,
      total: value.total,
      locked: value.locked,
    });
  }
  const report = await custodyReport({
    db: test.db,
    provider,
    hotWalletAddress: hotWallet.address,
    usdtTokenAddress: token.address,
  });
  expect(report.available).toBe(true);
  expect(report.blockNumber).toBe(await chain.blockNumber());
  const custody = Object.fromEntries(
    report.assets.map((asset) => [asset.currency, BigInt(asset.userCustodyUnits)]),
  );
  expect(custody).toEqual(custodyExpected);
}

// ---------------------------------------------------------------------------------------------
// GraphQL

const transactionFields = `id type currency amount status address txHash confirmations nonce networkFee
  failureReason amlFlags attentionReason statusHistory { status actor reason }`;

interface TransactionView {
  id: string;
  type: string;
  currency: string;
  amount: string;
  status: string;
  address: string | null;
  txHash: string | null;
  confirmations: number;
  nonce: number | null;
  networkFee: string | null;
  failureReason: string | null;
  amlFlags: string[];
  attentionReason: string | null;
  statusHistory: Array<{ status: string; actor: string | null; reason: string | null }>;
}

async function requestWithdrawal(
  userId: string,
  input: { currency: string; amount: string; address: string; totpCode?: string; idempotencyKey?: string },
) {
  return callSubgraph<{ requestWithdrawal: TransactionView }>(
    service.url,
    `mutation ($input: WithdrawalInput!) { requestWithdrawal(input: $input) { ${transactionFields} } }`,
    {
      input: {
        totpCode: freshCode(),
        idempotencyKey: randomUUID(),
        ...input,
      },
    },
    userIdentity(userId),
  );
}

async function withdraw(
  userId: string,
  input: { currency: string; amount: string; address: string; idempotencyKey?: string },
): Promise<TransactionView> {
  const response = await requestWithdrawal(userId, input);
  expect(response.errors).toBeUndefined();
  return response.data!.requestWithdrawal;
}

async function review(
  id: string,
  decision: 'APPROVE' | 'REJECT',
  role: 'COMPLIANCE' | 'USER' | 'ADMIN',
  operatorId: string = randomUUID(),
  reason = 'checked the source of funds',
) {
  return callSubgraph<{ reviewWithdrawal: TransactionView }>(
    service.url,
    `mutation ($id: ID!, $d: WithdrawalReviewDecision!, $r: String!) { reviewWithdrawal(id: $id, decision: $d, reason: $r) { ${transactionFields} } }`,
    { id, d: decision, r: reason },
    userIdentity(operatorId, role),
  );
}

async function operatorList(
  status: string[],
  role: 'SUPPORT' | 'COMPLIANCE' | 'USER' = 'SUPPORT',
  identity: Identity = userIdentity(randomUUID(), role),
) {
  return callSubgraph<{ withdrawals: TransactionView[] }>(
    service.url,
    `query ($s: [String!]) { withdrawals(status: $s) { ${transactionFields} } }`,
    { s: status },
    identity,
  );
}

/** The Transaction as the gateway would resolve it for `identity` (null: not readable). */
async function entityAs(id: string, identity: Identity): Promise<TransactionView | null> {
  const response = await callSubgraph<{ _entities: Array<TransactionView | null> }>(
    service.url,
    `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Transaction { ${transactionFields} } } }`,
    { r: [{ __typename: 'Transaction', id }] },
    identity,
  );
  expect(response.errors).toBeUndefined();
  return response.data!._entities[0] ?? null;
}

async function transactionAs(id: string, identity: Identity): Promise<TransactionView> {
  const found = await entityAs(id, identity);
  expect(found).not.toBeNull();
  return found!;
}

const codeOf = (response: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }): unknown =>
  response.errors?.[0]?.extensions?.['code'];

const historyOf = async (id: string): Promise<string[]> =>
  (await statusHistoryOf(test.db, id)).map((change) => change.status);

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  chain = await startLocalChain();
  provider = localProvider(chain);
  funder = localSigner(chain, 1, provider);
  token = await deployTestToken(chain, localSigner(chain, 0, provider));
  await token.mint(funder.address, 10_000_000_000_000n);
  coreDir = await mkdtemp(path.join(os.tmpdir(), 'wallets-withdrawals-core-'));
  core = await createInProcessCoreClient({ dataDir: coreDir });
  test = await openTestDatabase('wallets', walletsMigrationsDir);
  keyring = keyringFromXpub(
    HDNodeWallet.createRandom(undefined, accountPath).neuter().extendedKey,
    'environment',
  );
  hotWallet = new Wallet(Wallet.createRandom().privateKey);
  watcherConfig = {
    rpcUrl: chain.rpcUrl,
    minConfirmations,
    usdtTokenAddress: token.address,
    pollIntervalMs: 50,
    startBlock: (await chain.blockNumber()) + 1,
    maxBlocksPerPoll: 100,
    maxCreditsPerPoll: 100,
    reorgMarginBlocks: 16,
    leaseTtlMs,
  };
  processorConfig = {
    minConfirmations,
    usdtTokenAddress: token.address,
    pollIntervalMs: 50,
    maxBroadcastAttempts: 3,
    intentGraceMs: leaseTtlMs,
    leaseTtlMs,
    batchSize: 50,
    maxStepFailures: 3,
  };
  watcher = new ChainWatcher({
    db: test.db,
    core,
    provider,
    config: watcherConfig,
    logger: testLogger,
    hotWalletAddress: hotWallet.address,
  });
  processor = newProcessor();
  withdrawals = createWithdrawalService({
    db: test.db,
    core,
    identity: fakeIdentity,
    aml,
    hotWalletAddress: hotWallet.address,
    provider,
    minConfirmations,
    logger: testLogger,
  });
  service = await createWalletsService({
    config: testConfig(),
    db: test.db,
    depositKeyring: keyring,
    port: 0,
    logger: testLogger,
    withdrawals,
  });
  // The operator funds the hot wallet after the watcher's first block: the float is seen.
  await funder.sendTransaction({ to: hotWallet.address, value: parseEther('15') });
  await token.connect(funder).getFunction('transfer')(hotWallet.address, 1_000_000_000n);
  await chain.mine(1);
  await watcher.pollOnce();
}, 120_000);

afterAll(async () => {
  for (const each of processors.splice(0)) await each.stop();
  await watcher?.stop();
  await service?.close();
  provider?.destroy();
  await test?.dispose();
  await core?.close();
  if (coreDir) await rm(coreDir, { recursive: true, force: true });
  await chain?.stop();
});

describe('withdrawals on a local node', () => {
  it('an ETH withdrawal goes end to end: held, signed, broadcast, confirmed on chain, settled once', async () => {
    const alice = newUser();
    await deposit(alice, 'ETH', parseEther('2'));
    const recipient = Wallet.createRandom().address;
    const key = randomUUID();
    const requested = await withdraw(alice, {
      currency: 'ETH',
      amount: '0.5',
      address: recipient.toLowerCase(),
      idempotencyKey: key,
    });
    expect(requested).toMatchObject({
      type: 'WITHDRAWAL',
      status: 'APPROVED',
      amount: '0.5',
      address: recipient,
    });
    expect(requested.statusHistory.map((change) => change.status)).toEqual(['REQUESTED', 'HELD', 'APPROVED']);
    // Held at once: the funds cannot be traded away while the withdrawal is processed.
    expect(await coreBalance(alice, 'ETH')).toEqual({
      available: parseEther('1.5'),
      locked: parseEther('0.5'),
    });

    // The same key and payload answers the same withdrawal, without another TOTP code.
    const checksBefore = totpChecks;
    const replay = await withdraw(alice, {
      currency: 'ETH',
      amount: '0.50',
      address: recipient,
      idempotencyKey: key,
    });
    expect(replay.id).toBe(requested.id);
    expect(totpChecks).toBe(checksBefore);
    const reused = await requestWithdrawal(alice, {
      currency: 'ETH',
      amount: '0.6',
      address: recipient,
      idempotencyKey: key,
    });
    expect(codeOf(reused)).toBe('IDEMPOTENCY_KEY_REUSED');

    await processor.pollOnce();
    const broadcast = (await findWithdrawal(test.db, requested.id))!;
    expect(broadcast.status).toBe('BROADCAST');
    expect(broadcast.nonce).toBe(0);
    expect(EthTransaction.from(broadcast.rawTx!).hash!.toLowerCase()).toBe(broadcast.txHash);
    expect(await chain.pendingTransactionCount()).toBe(1);

    await advance(1);
    expect(await statusOf(requested.id)).toBe('MINED');
    await advanceUntil(requested.id, 'COMPLETED');
    expect(await provider.getBalance(recipient)).toBe(parseEther('0.5'));
    expect(await coreBalance(alice, 'ETH')).toEqual({ available: parseEther('1.5'), locked: 0n });
    const { coreWithdrawalId } = (await findWithdrawal(test.db, requested.id))!;
    expect(await fundsMoved('WITHDRAW_SETTLE', coreWithdrawalId)).toBe(1);
    expect(await fundsMoved('WITHDRAW_HOLD', coreWithdrawalId)).toBe(1);

    // More blocks and polls change nothing.
    await advance(3);
    expect(await fundsMoved('WITHDRAW_SETTLE', coreWithdrawalId)).toBe(1);
    expect(await historyOf(requested.id)).toEqual([
      'REQUESTED',
      'HELD',
      'APPROVED',
      'SIGNED',
      'BROADCAST',
      'MINED',
      'CONFIRMED',
      'COMPLETED',
    ]);
    const listed = await callSubgraph<{
      _entities: Array<{ transactions: TransactionView[] }>;
    }>(
      service.url,
      `query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { transactions { ${transactionFields} } } } }`,
      { id: alice },
      userIdentity(alice),
    );
    const mine = listed.data!._entities[0]!.transactions.find((t) => t.id === requested.id)!;
    expect(mine).toMatchObject({ status: 'COMPLETED', nonce: 0, confirmations: expect.any(Number) });
    expect(Number(mine.networkFee)).toBeGreaterThan(0);
    // Every transition went to the audit outbox with the transition, and the credited deposit too.
    const audited = await test.db.query<{ source_key: string }>(
      `SELECT source_key FROM audit_outbox WHERE source_key LIKE $1 ORDER BY id`,
      [`withdrawal:${requested.id}:%`],
    );
    expect(audited.rows.length).toBe(8);
    const depositAudit = await test.db.query<{ event: { action: string; details: Record<string, string> } }>(
      `SELECT event FROM audit_outbox WHERE source_key LIKE 'deposit:%' AND event->>'targetUserId' = $1`,
      [alice],
    );
    expect(depositAudit.rows.map((row) => row.event.action)).toEqual(['DEPOSIT_CREDITED']);
    expect(depositAudit.rows[0]!.event.details['amount']).toBe('2');
    await expectConservationAndCustody();
  });

  it('USDT withdrawals and ETH ones share one nonce sequence, signed in order and confirmed', async () => {
    const bob = newUser();
    await deposit(bob, 'USDT', 500_000_000n);
    await deposit(bob, 'ETH', parseEther('1'));
    const firstNonce = (await hotWalletNextNonce(test.db))!;
    const recipients = [
      Wallet.createRandom().address,
      Wallet.createRandom().address,
      Wallet.createRandom().address,
    ];
    const ids = [
      (await withdraw(bob, { currency: 'USDT', amount: '120.5', address: recipients[0]! })).id,
      (await withdraw(bob, { currency: 'ETH', amount: '0.25', address: recipients[1]! })).id,
      (await withdraw(bob, { currency: 'USDT', amount: '0.000001', address: recipients[2]! })).id,
    ];
    await processor.pollOnce();
    const signed = await Promise.all(ids.map(async (id) => (await findWithdrawal(test.db, id))!));
    expect(signed.map((w) => w.status)).toEqual(['BROADCAST', 'BROADCAST', 'BROADCAST']);
    expect(signed.map((w) => w.nonce)).toEqual([firstNonce, firstNonce + 1, firstNonce + 2]);
    for (const id of ids) await advanceUntil(id, 'COMPLETED');
    const usdt = (holder: string) => token.balanceOf(holder);
    expect(await usdt(recipients[0]!)).toBe(120_500_000n);
    expect(await provider.getBalance(recipients[1]!)).toBe(parseEther('0.25'));
    expect(await usdt(recipients[2]!)).toBe(1n);
    expect(await provider.getTransactionCount(hotWallet.address, 'latest')).toBe(firstNonce + 3);
    expect(await coreBalance(bob, 'USDT')).toEqual({ available: 500_000_000n - 120_500_001n, locked: 0n });
    await expectConservationAndCustody();
  });

  it('every refusal changes nothing: checksum, amount, KYC, 2FA, limit, allowlist, insufficient funds', async () => {
    const carol = newUser();
    await deposit(carol, 'ETH', parseEther('40'));
    await deposit(carol, 'USDT', 10_000_000n);
    const address = Wallet.createRandom().address;
    const before = await coreBalance(carol, 'ETH');
    const rowsBefore = (await test.db.query('SELECT count(*)::int AS n FROM withdrawals')).rows[0];
    const typo =
      address.slice(0, 2) +
      [...address.slice(2)]
        .map((c) => (/[a-f]/.test(c) ? c.toUpperCase() : /[A-F]/.test(c) ? c.toLowerCase() : c))
        .join('');
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ['BAD_USER_INPUT', () => requestWithdrawal(carol, { currency: 'ETH', amount: '1', address: typo })],
      ['BAD_USER_INPUT', () => requestWithdrawal(carol, { currency: 'ETH', amount: '1', address: '0x1234' })],
      ['BAD_USER_INPUT', () => requestWithdrawal(carol, { currency: 'ETH', amount: '0', address })],
      ['BAD_USER_INPUT', () => requestWithdrawal(carol, { currency: 'USDT', amount: '1.0000001', address })],
      ['BAD_USER_INPUT', () => requestWithdrawal(carol, { currency: 'BTC', amount: '1', address })],
      [
        'BAD_USER_INPUT',
        () => requestWithdrawal(carol, { currency: 'ETH', amount: '1', address: hotWallet.address }),
      ],
      [
        'TWO_FACTOR_INVALID',
        () => requestWithdrawal(carol, { currency: 'ETH', amount: '1', address, totpCode: '000000' }),
      ],
      // 30 ETH is the tier's 24h limit.
      [
        'LIMIT_EXCEEDED',
        () => requestWithdrawal(carol, { currency: 'ETH', amount: '30.000000000000000001', address }),
      ],
    ];
    for (const [code, attempt] of refusals) expect(codeOf((await attempt()) as never)).toBe(code);

    identityUsers.get(carol)!.kycStatus = 'PENDING';
    expect(codeOf(await requestWithdrawal(carol, { currency: 'ETH', amount: '1', address }))).toBe(
      'KYC_REQUIRED',
    );
    identityUsers.get(carol)!.kycStatus = 'APPROVED';
    identityUsers.get(carol)!.twoFactorEnabled = false;
    expect(codeOf(await requestWithdrawal(carol, { currency: 'ETH', amount: '1', address }))).toBe(
      'TWO_FACTOR_REQUIRED',
    );
    identityUsers.get(carol)!.twoFactorEnabled = true;
    identityUsers.get(carol)!.locked = true;
    expect(codeOf(await requestWithdrawal(carol, { currency: 'ETH', amount: '1', address }))).toBe(
      'ACCOUNT_LOCKED',
    );
    identityUsers.get(carol)!.locked = false;
    const code = freshCode();
    await requestWithdrawal(carol, { currency: 'ETH', amount: '0', address, totpCode: code });
    // Nothing was spent by a refused request (the code was never checked).
    expect(identityUsers.get(carol)!.usedCodes.has(code)).toBe(false);

    // Allowlist: once a user keeps one, other addresses are refused.
    const allowed = Wallet.createRandom().address;
    const added = await callSubgraph<{ addWithdrawalAddress: string[] }>(
      service.url,
      'mutation ($a: String!, $c: String!) { addWithdrawalAddress(address: $a, totpCode: $c) }',
      { a: allowed, c: freshCode() },
      userIdentity(carol),
    );
    expect(added.data?.addWithdrawalAddress).toEqual([allowed.toLowerCase()]);
    expect(codeOf(await requestWithdrawal(carol, { currency: 'ETH', amount: '1', address }))).toBe(
      'WITHDRAWAL_ADDRESS_NOT_ALLOWED',
    );

    // More than the available balance: the core's verdict, and nothing is held or recorded.
    identityUsers.get(carol)!.kycTier = 1;
    const key = randomUUID();
    expect(
      codeOf(
        await requestWithdrawal(carol, {
          currency: 'ETH',
          amount: '29',
          address: allowed,
          idempotencyKey: key,
        }),
      ),
    ).toBeUndefined();
    const tooMuch = await requestWithdrawal(carol, {
      currency: 'USDT',
      amount: '10.000001',
      address: allowed,
    });
    expect(codeOf(tooMuch)).toBe('INSUFFICIENT_FUNDS');
    expect(await coreBalance(carol, 'USDT')).toEqual({ available: 10_000_000n, locked: 0n });
    expect(await coreBalance(carol, 'ETH')).toEqual({
      available: parseEther('11'),
      locked: parseEther('29'),
    });
    // The 29 ETH one counts against the limit: 1 more ETH is fine, 1.000000000000000001 is not.
    expect(
      codeOf(
        await requestWithdrawal(carol, { currency: 'ETH', amount: '1.000000000000000001', address: allowed }),
      ),
    ).toBe('LIMIT_EXCEEDED');
    const rowsAfter = (await test.db.query('SELECT count(*)::int AS n FROM withdrawals')).rows[0];
    expect(rowsAfter).toEqual({ n: Number((rowsBefore as { n: number }).n) + 1 });
    expect(before.available).toBe(parseEther('40'));
    // 29 ETH > the AML threshold of 5: it waits for compliance; reject it so the funds come back.
    const waiting = (await findWithdrawalByKey(carol, key))!;
    expect(waiting.status).toBe('PENDING_REVIEW');
    expect(codeOf(await review(waiting.transactionId, 'REJECT', 'COMPLIANCE'))).toBeUndefined();
    await processor.pollOnce();
    expect(await statusOf(waiting.transactionId)).toBe('RELEASED');
    expect(await coreBalance(carol, 'ETH')).toEqual({ available: parseEther('40'), locked: 0n });
    await expectConservationAndCustody();
  });

  it('AML-flagged withdrawals wait for compliance: approve → sent; reject → released', async () => {
    const dave = newUser();
    await deposit(dave, 'ETH', parseEther('8'));
    const big = await withdraw(dave, {
      currency: 'ETH',
      amount: '6',
      address: Wallet.createRandom().address,
    });
    const toSanctioned = await withdraw(dave, { currency: 'ETH', amount: '1', address: sanctioned });
    expect(big.status).toBe('PENDING_REVIEW');
    // The owner is not told why (a sanctions hit above all); staff are.
    expect(big.amlFlags).toEqual([]);
    expect(toSanctioned.amlFlags).toEqual([]);
    expect((await transactionAs(big.id, userIdentity(randomUUID(), 'COMPLIANCE'))).amlFlags).toEqual([
      'AMOUNT_OVER_THRESHOLD',
    ]);
    expect((await transactionAs(toSanctioned.id, userIdentity(randomUUID(), 'SUPPORT'))).amlFlags).toEqual([
      'SANCTIONED_ADDRESS',
    ]);
    // An API key never carries staff powers, whatever role it names: it reads nothing of others'.
    const staffKey = {
      kind: 'apiKey',
      userId: randomUUID(),
      role: 'COMPLIANCE',
      apiKeyId: 'key-1',
      scopes: ['READ'],
      persistedOnly: false,
    } as const;
    expect(await entityAs(toSanctioned.id, staffKey)).toBeNull();
    expect(codeOf(await operatorList(['PENDING_REVIEW'], 'COMPLIANCE', staffKey))).toBe('FORBIDDEN');
    expect(await coreBalance(dave, 'ETH')).toEqual({ available: parseEther('1'), locked: parseEther('7') });

    // Nothing moves while they wait; operators see them.
    await advance(2);
    expect(await statusOf(big.id)).toBe('PENDING_REVIEW');
    const pending = await operatorList(['PENDING_REVIEW']);
    expect(pending.data!.withdrawals.map((w) => w.id)).toEqual(
      expect.arrayContaining([big.id, toSanctioned.id]),
    );
    expect(codeOf(await operatorList(['PENDING_REVIEW'], 'USER'))).toBe('FORBIDDEN');
    expect(codeOf(await review(big.id, 'APPROVE', 'USER'))).toBe('FORBIDDEN');

    // Nobody reviews their own withdrawal, whatever their role.
    expect(codeOf(await review(big.id, 'APPROVE', 'COMPLIANCE', dave))).toBe('FORBIDDEN');
    expect(await statusOf(big.id)).toBe('PENDING_REVIEW');
    const approved = await review(big.id, 'APPROVE', 'COMPLIANCE');
    expect(approved.data!.reviewWithdrawal.status).toBe('APPROVED');
    expect(approved.data!.reviewWithdrawal.statusHistory.at(-1)).toMatchObject({
      status: 'APPROVED',
      actor: expect.any(String),
      reason: 'checked the source of funds',
    });
    // The owner sees the decision, not the officer or the note.
    expect((await transactionAs(big.id, userIdentity(dave))).statusHistory.at(-1)).toEqual({
      status: 'APPROVED',
      actor: null,
      reason: null,
    });
    expect((await review(toSanctioned.id, 'REJECT', 'COMPLIANCE')).data!.reviewWithdrawal.status).toBe(
      'REJECTED',
    );
    // A decided withdrawal cannot be decided again: an error, not a no-op.
    expect(codeOf(await review(toSanctioned.id, 'APPROVE', 'COMPLIANCE'))).toBe('INVALID_STATE_TRANSITION');

    await processor.pollOnce();
    expect(await statusOf(toSanctioned.id)).toBe('RELEASED');
    await advanceUntil(big.id, 'COMPLETED');
    expect(await coreBalance(dave, 'ETH')).toEqual({ available: parseEther('2'), locked: 0n });
    expect(await historyOf(toSanctioned.id)).toEqual([
      'REQUESTED',
      'HELD',
      'PENDING_REVIEW',
      'REJECTED',
      'RELEASED',
    ]);
    expect(await provider.getBalance(sanctioned)).toBe(0n);
    await expectConservationAndCustody();
  });

  it('a broadcast the node refuses (the hot wallet cannot pay) fails, releases the funds and frees its nonce', async () => {
    const erin = newUser();
    await deposit(erin, 'ETH', parseEther('25'));
    const hotBalance = await provider.getBalance(hotWallet.address);
    expect(hotBalance).toBeLessThan(parseEther('20'));
    const nonceBefore = (await hotWalletNextNonce(test.db))!;
    const tooBig = await withdraw(erin, {
      currency: 'ETH',
      amount: '20',
      address: Wallet.createRandom().address,
    });
    expect((await review(tooBig.id, 'APPROVE', 'ADMIN')).data!.reviewWithdrawal.status).toBe('APPROVED');
    await processor.pollOnce();
    const failed = (await findWithdrawal(test.db, tooBig.id))!;
    expect(failed.status).toBe('RELEASED');
    expect(failed.failureReason).toMatch(/broadcast refused/);
    expect(await historyOf(tooBig.id)).toEqual([
      'REQUESTED',
      'HELD',
      'PENDING_REVIEW',
      'APPROVED',
      'SIGNED',
      'FAILED',
      'RELEASED',
    ]);
    expect(await coreBalance(erin, 'ETH')).toEqual({ available: parseEther('25'), locked: 0n });
    expect(await hotWalletNextNonce(test.db)).toBe(nonceBefore);

    // The next withdrawal takes the freed nonce and goes through.
    const small = await withdraw(erin, {
      currency: 'ETH',
      amount: '0.1',
      address: Wallet.createRandom().address,
    });
    await processor.pollOnce();
    expect((await findWithdrawal(test.db, small.id))!.nonce).toBe(nonceBefore);
    await advanceUntil(small.id, 'COMPLETED');
    await expectConservationAndCustody();
  });

  it('a crash between SIGNED and BROADCAST rebroadcasts the same transaction; stuck ones wait for an operator', async () => {
    const frank = newUser();
    await deposit(frank, 'ETH', parseEther('3'));
    const recipient = Wallet.createRandom().address;
    const first = await withdraw(frank, { currency: 'ETH', amount: '1', address: recipient });

    // The process dies right after the node accepted the transaction, before recording it.
    const dyingAfterSend = new Proxy(provider, {
      get(target, property) {
        if (property === 'broadcastTransaction') {
          return async (raw: string) => {
            await target.broadcastTransaction(raw);
            throw new Error('process died');
          };
        }
        // Dead: it cannot look anything up any more either.
        if (property === 'getTransaction') {
          return async () => {
            throw new Error('process died');
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    // The crashed processor's in-flight step: it signed (stored) and sent, then died. To model the
    // crash precisely its lease is not released; the survivor waits for the lease to expire.
    await processor.stop();
    const crashed = newProcessor({ provider: dyingAfterSend, config: { maxBroadcastAttempts: 100 } });
    await crashed.pollOnce();
    const signed = (await findWithdrawal(test.db, first.id))!;
    expect(signed.status).toBe('SIGNED');
    expect(await chain.pendingTransactionCount()).toBe(1);
    await expireProcessorLease();

    processor = newProcessor();
    await processor.pollOnce();
    const rebroadcast = (await findWithdrawal(test.db, first.id))!;
    expect(rebroadcast.status).toBe('BROADCAST');
    expect(rebroadcast.txHash).toBe(signed.txHash);
    expect(await chain.pendingTransactionCount()).toBe(1);
    await advanceUntil(first.id, 'COMPLETED');
    expect(await provider.getBalance(recipient)).toBe(parseEther('1'));

    // A node that never takes the transaction: bounded retries, then NEEDS_ATTENTION.
    const second = await withdraw(frank, { currency: 'ETH', amount: '0.5', address: recipient });
    const refusing = new Proxy(provider, {
      get(target, property) {
        if (property === 'broadcastTransaction') {
          return async () => {
            throw new Error('connection reset');
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    await processor.stop();
    const flaky = newProcessor({ provider: refusing, config: { maxBroadcastAttempts: 2 } });
    await expireProcessorLease();
    await flaky.pollOnce();
    expect(await statusOf(second.id)).toBe('SIGNED');
    await flaky.pollOnce();
    expect(await statusOf(second.id)).toBe('NEEDS_ATTENTION');
    await flaky.pollOnce();
    await flaky.pollOnce();
    expect(await statusOf(second.id)).toBe('NEEDS_ATTENTION'); // never retried on its own
    await flaky.stop();
    const stuck = await operatorList(['NEEDS_ATTENTION']);
    expect(stuck.data!.withdrawals.find((w) => w.id === second.id)?.attentionReason).toMatch(
      /connection reset/,
    );

    // Failing it would be unsafe (its signed transaction could still be mined): refused.
    const failAttempt = await callSubgraph(
      service.url,
      'mutation ($id: ID!) { failWithdrawal(id: $id, reason: "stuck") { status } }',
      { id: second.id },
      userIdentity(randomUUID(), 'ADMIN'),
    );
    expect(codeOf(failAttempt)).toBe('INVALID_STATE_TRANSITION');
    const retryByUser = await callSubgraph(
      service.url,
      'mutation ($id: ID!) { retryWithdrawal(id: $id) { status } }',
      { id: second.id },
      userIdentity(frank),
    );
    expect(codeOf(retryByUser)).toBe('FORBIDDEN');
    const retried = await callSubgraph<{ retryWithdrawal: { status: string } }>(
      service.url,
      'mutation ($id: ID!) { retryWithdrawal(id: $id) { status } }',
      { id: second.id },
      userIdentity(randomUUID(), 'ADMIN'),
    );
    expect(retried.data?.retryWithdrawal.status).toBe('SIGNED');
    processor = newProcessor();
    await advanceUntil(second.id, 'COMPLETED');
    expect(await provider.getBalance(recipient)).toBe(parseEther('1.5'));
    expect(await historyOf(second.id)).toEqual([
      'REQUESTED',
      'HELD',
      'APPROVED',
      'SIGNED',
      'NEEDS_ATTENTION',
      'SIGNED',
      'BROADCAST',
      'MINED',
      'CONFIRMED',
      'COMPLETED',
    ]);
    await expectConservationAndCustody();
  });

  it('a transaction the node drops is rebroadcast as is, a bounded number of times, then waits for an operator', async () => {
    const jack = newUser();
    await deposit(jack, 'ETH', parseEther('1'));
    const recipient = Wallet.createRandom().address;
    const sent = await withdraw(jack, { currency: 'ETH', amount: '0.2', address: recipient });
    await processor.pollOnce();
    const { txHash } = (await findWithdrawal(test.db, sent.id))!;
    for (let attempt = 2; attempt <= processorConfig.maxBroadcastAttempts; attempt++) {
      expect(await chain.rpc('hardhat_dropTransaction', [txHash])).toBe(true);
      await processor.pollOnce();
      const again = (await findWithdrawal(test.db, sent.id))!;
      expect({ status: again.status, attempts: again.broadcastAttempts, txHash: again.txHash }).toEqual({
        status: 'BROADCAST',
        attempts: attempt,
        txHash,
      });
      expect(await chain.pendingTransactionCount()).toBe(1);
    }
    await chain.rpc('hardhat_dropTransaction', [txHash]);
    await processor.pollOnce();
    expect(await statusOf(sent.id)).toBe('NEEDS_ATTENTION');
    await processor.pollOnce();
    expect(await chain.pendingTransactionCount()).toBe(0);
    const retried = await callSubgraph<{ retryWithdrawal: { status: string } }>(
      service.url,
      'mutation ($id: ID!) { retryWithdrawal(id: $id) { status } }',
      { id: sent.id },
      userIdentity(randomUUID(), 'ADMIN'),
    );
    expect(retried.data?.retryWithdrawal.status).toBe('BROADCAST');
    await processor.pollOnce();
    await advanceUntil(sent.id, 'COMPLETED');
    expect(await provider.getBalance(recipient)).toBe(parseEther('0.2'));
    await expectConservationAndCustody();
  });

  it('a withdrawal that reverts on chain (receipt status 0) fails and is released only once confirmed; its gas stays paid', async () => {
    const kate = newUser();
    await deposit(kate, 'USDT', 5_000_000n);
    const recipient = Wallet.createRandom().address;
    const sent = await withdraw(kate, { currency: 'USDT', amount: '2.5', address: recipient });
    await processor.pollOnce();
    expect(await statusOf(sent.id)).toBe('BROADCAST');
    // While it waits in the mempool, the hot wallet's USDT vanishes: the transfer reverts when mined.
    const original = await emptyHotWalletUsdt();
    await advance(1);
    await chain.rpc('hardhat_setStorageAt', [token.address, hotWalletUsdtSlot(), original]);
    // Mined and reverted, but not final: a reorg could still mine it again, and it could succeed.
    expect(await findWithdrawal(test.db, sent.id)).toMatchObject({ status: 'MINED', failureReason: null });
    expect(await coreBalance(kate, 'USDT')).toEqual({ available: 2_500_000n, locked: 2_500_000n });
    await advance(minConfirmations - 2);
    expect(await statusOf(sent.id)).toBe('MINED');
    await advance(1);
    const failed = (await findWithdrawal(test.db, sent.id))!;
    expect(failed.status).toBe('RELEASED');
    expect(failed.failureReason).toMatch(/reverted/);
    expect(failed.networkFeeWei).toBeGreaterThan(0n);
    expect(await historyOf(sent.id)).toEqual([
      'REQUESTED',
      'HELD',
      'APPROVED',
      'SIGNED',
      'BROADCAST',
      'MINED',
      'FAILED',
      'RELEASED',
    ]);
    expect(await token.balanceOf(recipient)).toBe(0n);
    expect(await coreBalance(kate, 'USDT')).toEqual({ available: 5_000_000n, locked: 0n });
    await advance(1);
    // The gas of the reverted transaction is the operator's cost, not the users'.
    await expectConservationAndCustody();
  });

  it('a reverted withdrawal reorged away before its confirmations is mined again on the new branch, succeeds and is paid once', async () => {
    const lena = newUser();
    await deposit(lena, 'USDT', 5_000_000n);
    const recipient = Wallet.createRandom().address;
    const snapshot = await chain.snapshot();
    const sent = await withdraw(lena, { currency: 'USDT', amount: '3', address: recipient });
    await processor.pollOnce();
    expect(await statusOf(sent.id)).toBe('BROADCAST');
    await emptyHotWalletUsdt();
    await advance(1);
    expect(await findWithdrawal(test.db, sent.id)).toMatchObject({ status: 'MINED', failureReason: null });
    // The branch with the revert is replaced (the hot wallet's USDT is back on it): the same
    // signed transaction goes out again and now succeeds. Released earlier, it would pay twice.
    await chain.reorg(snapshot, 3);
    await watcher.pollOnce();
    await processor.pollOnce();
    expect(await statusOf(sent.id)).toBe('BROADCAST');
    await advanceUntil(sent.id, 'COMPLETED');
    expect(await token.balanceOf(recipient)).toBe(3_000_000n);
    expect(await coreBalance(lena, 'USDT')).toEqual({ available: 2_000_000n, locked: 0n });
    expect(
      await fundsMoved('WITHDRAW_RELEASE', (await findWithdrawal(test.db, sent.id))!.coreWithdrawalId),
    ).toBe(0);
    expect((await historyOf(sent.id)).slice(3)).toEqual([
      'SIGNED',
      'BROADCAST',
      'MINED',
      'BROADCAST',
      'MINED',
      'CONFIRMED',
      'COMPLETED',
    ]);
    await expectConservationAndCustody();
  });

  it('a restarted processor takes its nonce from the node; operator spends from the hot wallet stay out of user custody', async () => {
    const leo = newUser();
    await deposit(leo, 'ETH', parseEther('1'));
    await processor.stop();
    const storedNonce = (await hotWalletNextNonce(test.db))!;
    // The operator moves float out with the hot wallet's key, behind the processor's back.
    const operator = hotWallet.connect(provider);
    await operator.sendTransaction({ to: funder.address, value: parseEther('0.5') });
    await token.connect(operator).getFunction('transfer')(funder.address, 1_000_000n);
    await chain.mine(1);
    await watcher.pollOnce();
    expect(await provider.getTransactionCount(hotWallet.address, 'latest')).toBe(storedNonce + 2);
    await expectConservationAndCustody();

    processor = newProcessor();
    const sent = await withdraw(leo, {
      currency: 'ETH',
      amount: '0.3',
      address: Wallet.createRandom().address,
    });
    await processor.pollOnce();
    expect((await findWithdrawal(test.db, sent.id))!).toMatchObject({
      status: 'BROADCAST',
      nonce: storedNonce + 2,
    });
    await advanceUntil(sent.id, 'COMPLETED');
    await expectConservationAndCustody();
  });

  it('an operator fails a stuck withdrawal only once another transaction took its nonce; its funds are released', async () => {
    const mia = newUser();
    await deposit(mia, 'ETH', parseEther('1'));
    const sent = await withdraw(mia, {
      currency: 'ETH',
      amount: '0.6',
      address: Wallet.createRandom().address,
    });
    const unreachableNode = new Proxy(provider, {
      get(target, property) {
        if (property === 'broadcastTransaction') {
          return async () => {
            throw new Error('connection refused');
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    await processor.stop();
    const flaky = newProcessor({ provider: unreachableNode, config: { maxBroadcastAttempts: 1 } });
    await flaky.pollOnce();
    await flaky.stop();
    const stuck = (await findWithdrawal(test.db, sent.id))!;
    expect(stuck).toMatchObject({ status: 'NEEDS_ATTENTION', attentionFrom: 'SIGNED' });
    const fail = (reason = 'replaced by a zero-value transaction', operatorId: string = randomUUID()) =>
      callSubgraph<{ failWithdrawal: { status: string; failureReason: string } }>(
        service.url,
        'mutation ($id: ID!, $r: String!) { failWithdrawal(id: $id, reason: $r) { status failureReason } }',
        { id: sent.id, r: reason },
        userIdentity(operatorId, 'ADMIN'),
      );
    expect(codeOf(await fail())).toBe('INVALID_STATE_TRANSITION');
    // The operator cancels it on chain: another transaction with the same nonce, mined.
    await hotWallet
      .connect(provider)
      .sendTransaction({ to: hotWallet.address, value: 0n, nonce: stuck.nonce! });
    await chain.mine(1);
    await watcher.pollOnce();
    // Taken, but not yet at confirmation depth: a reorg could still bring the withdrawal's own tx back.
    expect(codeOf(await fail())).toBe('INVALID_STATE_TRANSITION');
    await chain.mine(minConfirmations - 1);
    await watcher.pollOnce();
    // A reason with a control character is bad input (not a database error); nobody fails their own.
    expect(codeOf(await fail('replaced\u0000by zero'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await fail('mine', mia))).toBe('FORBIDDEN');
    expect(await statusOf(sent.id)).toBe('NEEDS_ATTENTION');
    const failed = await fail();
    expect(failed.data?.failWithdrawal).toEqual({
      status: 'FAILED',
      failureReason: 'replaced by a zero-value transaction',
    });
    processor = newProcessor();
    await processor.pollOnce();
    expect(await statusOf(sent.id)).toBe('RELEASED');
    expect(await coreBalance(mia, 'ETH')).toEqual({ available: parseEther('1'), locked: 0n });
    expect(
      (await statusHistoryOf(test.db, sent.id)).find((change) => change.status === 'FAILED')?.actor,
    ).toBeTruthy();
    await expectConservationAndCustody();
  });

  it('a withdrawal reorged out before its confirmations goes back to BROADCAST and the same tx is mined again', async () => {
    const gina = newUser();
    await deposit(gina, 'ETH', parseEther('1'));
    const recipient = Wallet.createRandom().address;
    const snapshot = await chain.snapshot();
    const sent = await withdraw(gina, { currency: 'ETH', amount: '0.3', address: recipient });
    await processor.pollOnce();
    await advance(1);
    const mined = (await findWithdrawal(test.db, sent.id))!;
    expect(mined.status).toBe('MINED');
    // The branch that carried it is replaced by a longer one without it.
    await chain.reorg(snapshot, 3);
    await watcher.pollOnce();
    await processor.pollOnce();
    expect(await statusOf(sent.id)).toBe('BROADCAST');
    await advanceUntil(sent.id, 'COMPLETED');
    expect((await findWithdrawal(test.db, sent.id))!.txHash).toBe(mined.txHash);
    expect(await provider.getBalance(recipient)).toBe(parseEther('0.3'));
    expect((await historyOf(sent.id)).slice(3)).toEqual([
      'SIGNED',
      'BROADCAST',
      'MINED',
      'BROADCAST',
      'MINED',
      'CONFIRMED',
      'COMPLETED',
    ]);
    await expectConservationAndCustody();
  });
});

/** The real core, except that it fails every WithdrawSettle of one withdrawal (a bad answer). */
function coreFailingSettleOf(coreWithdrawalId: number): CoreClient {
  return {
    submit: async (command) => {
      if (command.type === 'WithdrawSettle' && command.withdrawalId === coreWithdrawalId) {
        throw new Error('core answered with an unreadable frame');
      }
      return core.submit(command);
    },
    subscribe: (...args) => core.subscribe(...args),
    lastEventSeq: () => core.lastEventSeq(),
    close: async () => undefined,
  };
}

/** The node, except for the methods in `overrides` (a node that fails in a chosen way). */
function nodeWith(overrides: Record<string, (...args: never[]) => Promise<unknown>>): JsonRpcProvider {
  return new Proxy(provider, {
    get(target, property) {
      if (typeof property === 'string' && property in overrides) return overrides[property];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A crashed processor's lease runs out now (it never released it). */
async function expireProcessorLease(): Promise<void> {
  await test.db.query("UPDATE withdrawal_processor_lease SET expires_at = now() - interval '1 second'");
}

/** Makes a recorded core intent old enough for the processor to resolve (no waiting). */
async function ageIntent(id: string): Promise<void> {
  await test.db.query(
    "UPDATE withdrawals SET core_intent_at = now() - interval '1 hour' WHERE transaction_id = $1",
    [id],
  );
}

const retry = (id: string, operatorId: string = randomUUID()) =>
  callSubgraph<{ retryWithdrawal: { status: string } }>(
    service.url,
    'mutation ($id: ID!) { retryWithdrawal(id: $id) { status } }',
    { id },
    userIdentity(operatorId, 'ADMIN'),
  );

describe('one bad withdrawal never stops the others', () => {
  it('a withdrawal whose settle keeps failing is parked in NEEDS_ATTENTION while the others complete; retried, it settles once', async () => {
    const omar = newUser();
    await deposit(omar, 'ETH', parseEther('2'));
    const stuck = await withdraw(omar, {
      currency: 'ETH',
      amount: '0.5',
      address: Wallet.createRandom().address,
    });
    const coreWithdrawalId = (await findWithdrawal(test.db, stuck.id))!.coreWithdrawalId;
    await processor.stop();
    const picky = newProcessor({ core: coreFailingSettleOf(coreWithdrawalId), config: { intentGraceMs: 0 } });
    await picky.pollOnce();
    for (let i = 0; i < 10 && (await statusOf(stuck.id)) !== 'CONFIRMED'; i++) await advance(1, picky);
    expect(await findWithdrawal(test.db, stuck.id)).toMatchObject({ status: 'CONFIRMED', stepFailures: 1 });

    // Every poll now starts with its failing settle; another withdrawal still goes end to end.
    const other = await withdraw(omar, {
      currency: 'ETH',
      amount: '0.4',
      address: Wallet.createRandom().address,
    });
    for (let i = 0; i < 10 && (await statusOf(other.id)) !== 'COMPLETED'; i++) await advance(1, picky);
    expect(await statusOf(other.id)).toBe('COMPLETED');
    const parked = (await findWithdrawal(test.db, stuck.id))!;
    expect(parked).toMatchObject({ status: 'NEEDS_ATTENTION', attentionFrom: 'CONFIRMED', stepFailures: 0 });
    expect(parked.attentionReason).toMatch(/unreadable frame.*failed 3 times in a row/);
    const seen = await operatorList(['NEEDS_ATTENTION']);
    expect(seen.data!.withdrawals.find((w) => w.id === stuck.id)?.attentionReason).toBe(
      parked.attentionReason,
    );
    // Confirmed on chain: an operator can only retry it, not fail it (that would pay twice).
    const failed = await callSubgraph(
      service.url,
      'mutation ($id: ID!) { failWithdrawal(id: $id, reason: "give up") { status } }',
      { id: stuck.id },
      userIdentity(randomUUID(), 'ADMIN'),
    );
    expect(codeOf(failed)).toBe('INVALID_STATE_TRANSITION');
    await picky.pollOnce();
    expect(await statusOf(stuck.id)).toBe('NEEDS_ATTENTION');
    // Nobody retries their own withdrawal.
    expect(codeOf(await retry(stuck.id, omar))).toBe('FORBIDDEN');

    await picky.stop();
    expect((await retry(stuck.id)).data?.retryWithdrawal.status).toBe('CONFIRMED');
    processor = newProcessor();
    await ageIntent(stuck.id);
    await processor.pollOnce();
    expect(await statusOf(stuck.id)).toBe('COMPLETED');
    expect(await fundsMoved('WITHDRAW_SETTLE', coreWithdrawalId)).toBe(1);
    expect((await historyOf(stuck.id)).slice(-4)).toEqual([
      'CONFIRMED',
      'NEEDS_ATTENTION',
      'CONFIRMED',
      'COMPLETED',
    ]);
    expect(await coreBalance(omar, 'ETH')).toEqual({ available: parseEther('1.1'), locked: 0n });
    await expectConservationAndCustody();
  });

  it('an estimateGas the node cannot answer (502) keeps the withdrawal APPROVED, then parks it; only a revert fails it', async () => {
    const pete = newUser();
    await deposit(pete, 'USDT', 10_000_000n);
    await processor.stop();
    let estimates = 0;
    const flaky = newProcessor({
      provider: nodeWith({
        estimateGas: async () => {
          estimates++;
          throw new Error('server response 502 Bad Gateway');
        },
      }),
    });
    const sent = await withdraw(pete, {
      currency: 'USDT',
      amount: '1',
      address: Wallet.createRandom().address,
    });
    await flaky.pollOnce();
    expect(await findWithdrawal(test.db, sent.id)).toMatchObject({ status: 'APPROVED', stepFailures: 1 });
    await flaky.pollOnce();
    expect(await statusOf(sent.id)).toBe('APPROVED');
    await flaky.pollOnce();
    expect(estimates).toBe(3);
    expect(await findWithdrawal(test.db, sent.id)).toMatchObject({
      status: 'NEEDS_ATTENTION',
      attentionFrom: 'APPROVED',
    });
    expect((await findWithdrawal(test.db, sent.id))!.attentionReason).toMatch(/502 Bad Gateway/);
    await flaky.stop();
    expect((await retry(sent.id)).data?.retryWithdrawal.status).toBe('APPROVED');
    processor = newProcessor();
    await processor.pollOnce();
    await advanceUntil(sent.id, 'COMPLETED');

    // A real revert (the hot wallet's USDT is short now) still fails it at once, nothing signed.
    const original = await emptyHotWalletUsdt();
    const refused = await withdraw(pete, {
      currency: 'USDT',
      amount: '2',
      address: Wallet.createRandom().address,
    });
    const nonceBefore = await hotWalletNextNonce(test.db);
    await processor.pollOnce();
    await chain.rpc('hardhat_setStorageAt', [token.address, hotWalletUsdtSlot(), original]);
    expect(await findWithdrawal(test.db, refused.id)).toMatchObject({ status: 'RELEASED', nonce: null });
    expect((await findWithdrawal(test.db, refused.id))!.failureReason).toMatch(/token refuses the transfer/);
    expect(await hotWalletNextNonce(test.db)).toBe(nonceBefore);
    await expectConservationAndCustody();
  });

  it('a definitive refusal after an earlier broadcast keeps the nonce and needs an operator; cancelled on chain, it is failed and released', async () => {
    const quinn = newUser();
    await deposit(quinn, 'ETH', parseEther('25'));
    expect(await provider.getBalance(hotWallet.address)).toBeLessThan(parseEther('20'));
    const tooBig = await withdraw(quinn, {
      currency: 'ETH',
      amount: '20',
      address: Wallet.createRandom().address,
    });
    expect((await review(tooBig.id, 'APPROVE', 'ADMIN')).data!.reviewWithdrawal.status).toBe('APPROVED');
    // The first send dies in transit (did it reach the network? nobody knows).
    await processor.stop();
    const cutOff = newProcessor({
      provider: nodeWith({
        broadcastTransaction: async () => {
          throw new Error('socket hang up');
        },
      }),
    });
    await cutOff.pollOnce();
    await cutOff.stop();
    const signed = (await findWithdrawal(test.db, tooBig.id))!;
    expect(signed).toMatchObject({ status: 'SIGNED', broadcastAttempts: 1 });
    // Now the node refuses it for good (the hot wallet cannot pay): its nonce is not handed back.
    processor = newProcessor();
    await processor.pollOnce();
    const parked = (await findWithdrawal(test.db, tooBig.id))!;
    expect(parked).toMatchObject({ status: 'NEEDS_ATTENTION', attentionFrom: 'SIGNED', nonce: signed.nonce });
    expect(parked.attentionReason).toMatch(/earlier broadcast/);
    expect(await hotWalletNextNonce(test.db)).toBe(signed.nonce! + 1);
    expect(await coreBalance(quinn, 'ETH')).toEqual({ available: parseEther('5'), locked: parseEther('20') });

    // The operator cancels it on chain (another transaction with its nonce, confirmed), then fails it.
    await hotWallet
      .connect(provider)
      .sendTransaction({ to: hotWallet.address, value: 0n, nonce: signed.nonce! });
    await chain.mine(minConfirmations);
    await watcher.pollOnce();
    const failed = await callSubgraph<{ failWithdrawal: { status: string } }>(
      service.url,
      'mutation ($id: ID!) { failWithdrawal(id: $id, reason: "cancelled on chain with a zero-value transaction") { status } }',
      { id: tooBig.id },
      userIdentity(randomUUID(), 'ADMIN'),
    );
    expect(failed.data?.failWithdrawal.status).toBe('FAILED');
    await processor.pollOnce();
    expect(await statusOf(tooBig.id)).toBe('RELEASED');
    expect(await coreBalance(quinn, 'ETH')).toEqual({ available: parseEther('25'), locked: 0n });
    await expectConservationAndCustody();
  });
});

describe('audit and idempotency', () => {
  const outboxOf = async (userId: string, action: string) =>
    (
      await test.db.query<{ event: { actor: string; details: Record<string, string> } }>(
        "SELECT event FROM audit_outbox WHERE event->>'targetUserId' = $1 AND event->>'action' = $2 ORDER BY id",
        [userId, action],
      )
    ).rows.map((row) => row.event);

  it('allowlist changes, new deposit addresses and refused holds are audited', async () => {
    const rita = newUser();
    const address = Wallet.createRandom().address;
    const allowlist = (mutation: 'addWithdrawalAddress' | 'removeWithdrawalAddress') =>
      callSubgraph<Record<string, string[]>>(
        service.url,
        `mutation ($a: String!, $c: String!) { ${mutation}(address: $a, totpCode: $c) }`,
        { a: address, c: freshCode() },
        userIdentity(rita),
      );
    expect((await allowlist('addWithdrawalAddress')).data?.['addWithdrawalAddress']).toEqual([
      address.toLowerCase(),
    ]);
    expect((await allowlist('removeWithdrawalAddress')).data?.['removeWithdrawalAddress']).toEqual([]);
    expect(await outboxOf(rita, 'WITHDRAWAL_ADDRESS_ADDED')).toEqual([
      expect.objectContaining({ actor: rita, details: { address: address.toLowerCase() } }),
    ]);
    expect(await outboxOf(rita, 'WITHDRAWAL_ADDRESS_REMOVED')).toHaveLength(1);

    const issued = await callSubgraph<{ createDepositAddress: { address: string } }>(
      service.url,
      'mutation { createDepositAddress(currency: "ETH") { address } }',
      {},
      userIdentity(rita),
    );
    await callSubgraph(
      service.url,
      'mutation { createDepositAddress(currency: "ETH") { address } }',
      {},
      userIdentity(rita),
    );
    expect(await outboxOf(rita, 'DEPOSIT_ADDRESS_CREATED')).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({
          currency: 'ETH',
          address: issued.data!.createDepositAddress.address,
        }),
      }),
    ]);

    // Nothing to withdraw: the core refuses the hold; the request is forgotten, its outcome audited.
    const refused = await requestWithdrawal(rita, { currency: 'ETH', amount: '1', address });
    expect(codeOf(refused)).toBe('INSUFFICIENT_FUNDS');
    const requested = await outboxOf(rita, 'WITHDRAWAL_REQUESTED');
    expect(requested).toHaveLength(1);
    expect(await outboxOf(rita, 'WITHDRAWAL_REFUSED')).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({
          transactionId: requested[0]!.details['transactionId'],
          code: 'INSUFFICIENT_FUNDS',
        }),
      }),
    ]);
  });

  it('two concurrent requests with the same idempotency key and code are one withdrawal', async () => {
    const sam = newUser();
    await deposit(sam, 'ETH', parseEther('1'));
    const input = {
      currency: 'ETH',
      amount: '0.2',
      address: Wallet.createRandom().address,
      totpCode: freshCode(),
      idempotencyKey: randomUUID(),
    };
    // Identity is slow: the first request waits in its code check while the second one arrives.
    let answer!: () => void;
    twoFactorHeld = new Promise((resolve) => (answer = resolve));
    const checksBefore = totpChecks;
    const firstPending = requestWithdrawal(sam, input);
    while (totpChecks === checksBefore) await new Promise((resolve) => setTimeout(resolve, 5));
    const secondPending = requestWithdrawal(sam, input);
    // Give the second request the time to reach its own code check (it does, unless it waits for
    // the first); the assertions below do not depend on how long this takes.
    for (let i = 0; i < 100 && totpChecks === checksBefore + 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    answer();
    twoFactorHeld = null;
    const [first, second] = await Promise.all([firstPending, secondPending]);
    expect(first.errors).toBeUndefined();
    expect(second.errors).toBeUndefined();
    expect(second.data!.requestWithdrawal.id).toBe(first.data!.requestWithdrawal.id);
    expect(totpChecks).toBe(checksBefore + 1);
    expect(await coreBalance(sam, 'ETH')).toEqual({
      available: parseEther('0.8'),
      locked: parseEther('0.2'),
    });
    await advanceUntil(first.data!.requestWithdrawal.id, 'COMPLETED');
    await expectConservationAndCustody();
  });
});

/** A core client whose process dies right after the core made a command durable. */
function dyingCore(): CoreClient & { submits: number } {
  const wrapper = {
    submits: 0,
    submit: async (command: Parameters<CoreClient['submit']>[0]) => {
      wrapper.submits++;
      await core.submit(command);
      throw new Error('process died before recording the outcome');
    },
    subscribe: (...args: Parameters<CoreClient['subscribe']>) => core.subscribe(...args),
    lastEventSeq: () => core.lastEventSeq(),
    close: async () => undefined,
  };
  return wrapper;
}

describe('unknown core outcomes', () => {
  it('a hold and a settle whose answers were lost are recovered from the core event log, never repeated', async () => {
    const hana = newUser();
    await deposit(hana, 'USDT', 50_000_000n);
    const dying = dyingCore();
    const crashingService = createWithdrawalService({
      db: test.db,
      core: dying,
      identity: fakeIdentity,
      aml,
      hotWalletAddress: hotWallet.address,
      provider,
      minConfirmations,
      logger: testLogger,
    });
    const recipient = Wallet.createRandom().address;
    const requested = await crashingService.request(hana, {
      currency: 'USDT',
      amount: '20',
      address: recipient,
      totpCode: freshCode(),
      idempotencyKey: randomUUID(),
    });
    // The hold is durable in the core, but wallets never heard: REQUESTED with the HOLD intent.
    expect(requested.status).toBe('REQUESTED');
    expect(requested.coreIntent).toBe('HOLD');
    expect(await coreBalance(hana, 'USDT')).toEqual({ available: 30_000_000n, locked: 20_000_000n });
    // Too young to resolve (its submitter may still be waiting for the answer).
    await processor.pollOnce();
    expect(await statusOf(requested.transactionId)).toBe('REQUESTED');
    await ageIntent(requested.transactionId);
    await processor.pollOnce();
    expect((await findWithdrawal(test.db, requested.transactionId))!.status).toBe('BROADCAST');
    expect(await fundsMoved('WITHDRAW_HOLD', requested.coreWithdrawalId)).toBe(1);

    // Now the settle's answer is lost: the processor that settles it dies after the core settled.
    await processor.stop();
    const crashed = newProcessor({ core: dyingCore() });
    for (
      let i = 0;
      i < 10 && (await findWithdrawal(test.db, requested.transactionId))!.coreIntent !== 'SETTLE';
      i++
    ) {
      await chain.mine(1);
      await watcher.pollOnce();
      await crashed.pollOnce().catch((error: Error) => expect(error.message).toMatch('process died'));
    }
    expect((await findWithdrawal(test.db, requested.transactionId))!.coreIntent).toBe('SETTLE');
    expect(await fundsMoved('WITHDRAW_SETTLE', requested.coreWithdrawalId)).toBe(1);
    // The crashed processor's lease and the settle's grace run out.
    await expireProcessorLease();
    await ageIntent(requested.transactionId);
    processor = newProcessor();
    await processor.pollOnce();
    expect(await statusOf(requested.transactionId)).toBe('COMPLETED');
    expect(await fundsMoved('WITHDRAW_SETTLE', requested.coreWithdrawalId)).toBe(1);
    expect(await token.balanceOf(recipient)).toBe(20_000_000n);
    expect(await coreBalance(hana, 'USDT')).toEqual({ available: 30_000_000n, locked: 0n });
    await expectConservationAndCustody();
  });
});

describe('unknown core outcomes, never sent', () => {
  it('an unreachable core refuses the request before the TOTP code is spent', async () => {
    const nina = newUser();
    const down: CoreClient = {
      submit: async () => {
        throw new Error('connection refused');
      },
      subscribe: (...args) => core.subscribe(...args),
      lastEventSeq: async () => {
        throw new Error('connection refused');
      },
      close: async () => undefined,
    };
    const code = freshCode();
    const refused = createWithdrawalService({
      db: test.db,
      core: down,
      identity: fakeIdentity,
      aml,
      hotWalletAddress: hotWallet.address,
      provider,
      minConfirmations,
      logger: testLogger,
    }).request(nina, {
      currency: 'ETH',
      amount: '0.1',
      address: Wallet.createRandom().address,
      totpCode: code,
      idempotencyKey: randomUUID(),
    });
    await expect(refused).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(identityUsers.get(nina)!.usedCodes.has(code)).toBe(false);
    expect((await test.db.query('SELECT 1 FROM withdrawals WHERE user_id = $1', [nina])).rows).toEqual([]);
  });

  it('a hold that never reached the core is sent again by the processor, and held once', async () => {
    const ines = newUser();
    await deposit(ines, 'ETH', parseEther('1'));
    const unreachable: CoreClient = {
      submit: async () => {
        throw new Error('connection refused');
      },
      subscribe: (...args) => core.subscribe(...args),
      lastEventSeq: () => core.lastEventSeq(),
      close: async () => undefined,
    };
    const requested = await createWithdrawalService({
      db: test.db,
      core: unreachable,
      identity: fakeIdentity,
      aml,
      hotWalletAddress: hotWallet.address,
      provider,
      minConfirmations,
      logger: testLogger,
    }).request(ines, {
      currency: 'ETH',
      amount: '0.4',
      address: Wallet.createRandom().address,
      totpCode: freshCode(),
      idempotencyKey: randomUUID(),
    });
    expect(requested.status).toBe('REQUESTED');
    expect(await coreBalance(ines, 'ETH')).toEqual({ available: parseEther('1'), locked: 0n });
    await ageIntent(requested.transactionId);
    await processor.pollOnce();
    expect(await statusOf(requested.transactionId)).toBe('BROADCAST');
    expect(await fundsMoved('WITHDRAW_HOLD', requested.coreWithdrawalId)).toBe(1);
    await advanceUntil(requested.transactionId, 'COMPLETED');
    expect(await coreBalance(ines, 'ETH')).toEqual({ available: parseEther('0.6'), locked: 0n });
    await expectConservationAndCustody();
  });
});

describe('startWallets', () => {
  it('runs the processor and serves the custody report from ETH_* settings', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wallets-withdrawal-service-'));
    const key = Wallet.createRandom().privateKey;
    const hot = new Wallet(key);
    const config = testConfig({ DATA_DIR: dataDir });
    const running = await startWallets(config, {
      port: 0,
      logger: testLogger,
      coreClient: core,
      identityClient: fakeIdentity,
      auditRelay: false,
      env: {
        ETH_DEPOSIT_XPUB: HDNodeWallet.createRandom(undefined, accountPath).neuter().extendedKey,
        ETH_RPC_URL: chain.rpcUrl,
        ETH_MIN_CONFIRMATIONS: '2',
        USDT_TOKEN_ADDRESS: token.address,
        ETH_POLL_INTERVAL_MS: '50',
        ETH_START_BLOCK: String((await chain.blockNumber()) + 1),
        ETH_HOT_WALLET_KEY: key,
        AML_THRESHOLD_ETH: '100',
      },
    });
    try {
      expect(running.withdrawalProcessor?.hotWalletAddress).toBe(hot.address);
      const ivan = newUser();
      const issued = await callSubgraph<{ createDepositAddress: { address: string } }>(
        running.url,
        'mutation { createDepositAddress(currency: "ETH") { address } }',
        {},
        userIdentity(ivan),
      );
      await funder.sendTransaction({ to: issued.data!.createDepositAddress.address, value: parseEther('3') });
      await funder.sendTransaction({ to: hot.address, value: parseEther('1') });
      await chain.mine(2);
      await expect
        .poll(async () => (await coreBalance(ivan, 'ETH')).available, { timeout: 10_000, interval: 50 })
        .toBe(parseEther('3'));
      const recipient = Wallet.createRandom().address;
      const requested = await callSubgraph<{ requestWithdrawal: { id: string; status: string } }>(
        running.url,
        'mutation ($i: WithdrawalInput!) { requestWithdrawal(input: $i) { id status } }',
        {
          i: {
            currency: 'ETH',
            amount: '0.75',
            address: recipient,
            totpCode: freshCode(),
            idempotencyKey: 'k-1',
          },
        },
        userIdentity(ivan),
      );
      expect(requested.data?.requestWithdrawal.status).toBe('APPROVED');
      // The processor signs and broadcasts on its own; each mined block brings it closer.
      await expect
        .poll(
          async () => {
            await chain.mine(1);
            return (await coreBalance(ivan, 'ETH')).available + (await coreBalance(ivan, 'ETH')).locked;
          },
          { timeout: 20_000, interval: 100 },
        )
        .toBe(parseEther('2.25'));
      expect(await provider.getBalance(recipient)).toBe(parseEther('0.75'));

      const answer = await fetch(new URL(custodyPath, running.url), {
        headers: { [serviceTokenHeader]: await signServiceToken('ledger', config.internalTokenSecret, 60) },
      });
      const report = (await answer.json()) as {
        available: boolean;
        assets: Array<{ currency: string; userCustodyUnits: string }>;
      };
      expect(report.available).toBe(true);
      // This service's users hold exactly what was credited minus what was settled.
      expect(report.assets.find((asset) => asset.currency === 'ETH')?.userCustodyUnits).toBe(
        parseEther('2.25').toString(),
      );
      expect(report.assets.find((asset) => asset.currency === 'USDT')?.userCustodyUnits).toBe('0');
    } finally {
      await running.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

async function findWithdrawalByKey(userId: string, key: string) {
  const { findWithdrawalByKey: byKey } = await import('../store/withdrawals.ts');
  return byKey(test.db, userId, key);
}
