/**
 * Issue 6 end to end: the money trail on the real processes (`startPlatform`) and a real local
 * Ethereum node (Hardhat 2, manual mining) with a solc-compiled USDT-like token.
 *
 * Deposits of ETH and USDT are credited only after ETH_MIN_CONFIRMATIONS; two users trade them;
 * one withdrawal goes end to end and is confirmed on chain; an AML-flagged one waits for a
 * compliance decision and is then sent; one the hot wallet cannot pay fails and its funds are
 * released. After every scenario, through the gateway: the ledger's reconciliation (conservation
 * per asset, every journal transaction balanced, ledger equals core, custody equals the chain) has
 * no problem, and `npm run audit:verify` (the CLI, as a child process) passes on the running chain.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wallet, formatEther, parseEther, type JsonRpcProvider } from 'ethers';
import { totpCode } from '@graphex/runtime';
import { checkLedgerReconciliation } from '@graphex/ledger';
import {
  deployTestToken,
  localProvider,
  localSigner,
  startLocalChain,
  type LocalChain,
  type TestToken,
} from './chain/index.ts';
import { gql, gqlOk, repoRoot, startPlatform, type Platform } from './harness/index.ts';

const adminEmail = 'admin@money-trail.test';
const adminPassword = 'Admin-money-trail-2026';
const password = 'money-trail-pass-2026';
const minConfirmations = 3;
const usdt = (whole: number): bigint => BigInt(whole) * 1_000_000n;

let chain: LocalChain;
let provider: JsonRpcProvider;
let funder: Wallet;
let token: TestToken;
let platform: Platform;
let url: string;
const hotWallet = Wallet.createRandom();
let adminToken = '';
let complianceToken = '';

interface Person {
  readonly id: string;
  readonly email: string;
  readonly token: string;
  totpSecret: string;
  /** TOTP codes are single use per 30 s step: each action takes the next unused step. */
  nextStepMs: number;
}

/** Mines one block at a time until `check` passes (the watcher polls every 100 ms). */
async function mineUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  maxBlocks = 60,
): Promise<T> {
  let value = await read();
  for (let blocks = 0; !done(value); blocks += 1) {
    if (blocks >= maxBlocks)
      throw new Error(`${what}: not reached after ${maxBlocks} blocks: ${JSON.stringify(value)}`);
    await chain.mine(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

/** Polls (without mining) until `done`, for effects that need no new block. */
async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in 30 s: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

function auditVerify(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'scripts/audit-verify.ts'), '--identity-url', platform.urls.identity],
      { cwd: repoRoot, env: platform.env },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 99) : 0;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

/**
 * The checks every scenario ends with. Reconciliation compares projections that catch up within
 * milliseconds and a custody report read at the watcher's cursor block: mine until they agree, and
 * fail with the problems they still report.
 */
async function expectMoneyTrailConsistent(): Promise<void> {
  let last: string[] = [];
  try {
    await mineUntil(
      'ledger reconciliation',
      async () => {
        const { report, problems } = await checkLedgerReconciliation(
          url,
          { authorization: `Bearer ${adminToken}` },
          { requireChain: ['ETH', 'USDT'] },
        );
        last = problems;
        return { ok: report.ok, problems };
      },
      (value) => value.ok && value.problems.length === 0,
      20,
    );
  } catch {
    expect(last).toEqual([]);
  }
  const verified = await auditVerify();
  expect(verified.output).toMatch(/^audit:verify ok entries=\d+ head=[0-9a-f]{64}$/m);
  expect(verified.code).toBe(0);
}

async function register(label: string): Promise<Person> {
  const email = `${label}-${randomUUID().slice(0, 8)}@money-trail.test`;
  const data = await gqlOk<{ register: { accessToken: string; user: { id: string } } }>(
    url,
    `mutation ($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`,
    { i: { email, password } },
  );
  return {
    id: data.register.user.id,
    email,
    token: data.register.accessToken,
    totpSecret: '',
    nextStepMs: 0,
  };
}

/** KYC approved by the local rules provider, and 2FA enabled: what a withdrawal needs. */
async function prepareForWithdrawals(person: Person): Promise<void> {
  const doc = (kind: string, n: number) => ({
    kind,
    sha256: n.toString(16).padStart(64, 'b'),
    sizeBytes: 2000 + n,
    contentType: 'image/jpeg',
  });
  await gqlOk(
    url,
    `mutation ($i: KycInput!) { submitKyc(input: $i) { kycStatus } }`,
    {
      i: {
        firstName: 'Grace',
        lastName: 'Hopper',
        dateOfBirth: '1986-12-09',
        country: 'GB',
        documents: [doc('PASSPORT', 1), doc('SELFIE', 2)],
      },
    },
    person.token,
  );
  await eventually(
    'KYC approval',
    async () =>
      (await gqlOk<{ me: { kycStatus: string } }>(url, '{ me { kycStatus } }', {}, person.token)).me,
    (me) => me.kycStatus === 'APPROVED',
  );
  const enrolled = await gqlOk<{ enrollTwoFactor: { secret: string } }>(
    url,
    'mutation { enrollTwoFactor { secret } }',
    {},
    person.token,
  );
  person.totpSecret = enrolled.enrollTwoFactor.secret;
  const now = Date.now();
  await gqlOk(
    url,
    'mutation ($c: String!) { confirmTwoFactor(code: $c) { twoFactorEnabled } }',
    { c: totpCode(person.totpSecret, now) },
    person.token,
  );
  person.nextStepMs = now + 30_000;
}

function nextTotp(person: Person): string {
  const code = totpCode(person.totpSecret, person.nextStepMs);
  person.nextStepMs += 30_000;
  return code;
}

async function depositAddress(person: Person, currency: 'ETH' | 'USDT'): Promise<string> {
  return (
    await gqlOk<{ createDepositAddress: { address: string } }>(
      url,
      'mutation ($c: String!) { createDepositAddress(currency: $c) { address } }',
      { c: currency },
      person.token,
    )
  ).createDepositAddress.address;
}

interface AccountRow {
  currency: string;
  available: string;
  locked: string;
}
async function accounts(person: Person): Promise<Record<string, AccountRow>> {
  const data = await gqlOk<{ me: { accounts: AccountRow[] } }>(
    url,
    '{ me { accounts { currency available locked } } }',
    {},
    person.token,
  );
  return Object.fromEntries(data.me.accounts.map((account) => [account.currency, account]));
}

interface TransactionRow {
  id: string;
  type: string;
  status: string;
  amount: string;
  txHash: string | null;
  confirmations: number;
  amlFlags: string[];
  statusHistory: Array<{ status: string }>;
}
const transactionFields = 'id type status amount txHash confirmations amlFlags statusHistory { status }';

async function transactionsOf(person: Person): Promise<TransactionRow[]> {
  return (
    await gqlOk<{ me: { transactions: TransactionRow[] } }>(
      url,
      `{ me { transactions { ${transactionFields} } } }`,
      {},
      person.token,
    )
  ).me.transactions;
}

async function withdrawal(person: Person, id: string): Promise<TransactionRow> {
  const found = (await transactionsOf(person)).find((transaction) => transaction.id === id);
  if (!found) throw new Error(`withdrawal ${id} is not among the user's transactions`);
  return found;
}

async function requestWithdrawal(
  person: Person,
  input: { currency: 'ETH' | 'USDT'; amount: string; address: string },
): Promise<TransactionRow> {
  return (
    await gqlOk<{ requestWithdrawal: TransactionRow }>(
      url,
      `mutation ($i: WithdrawalInput!) { requestWithdrawal(input: $i) { ${transactionFields} } }`,
      { i: { ...input, totpCode: nextTotp(person), idempotencyKey: randomUUID() } },
      person.token,
    )
  ).requestWithdrawal;
}

async function placeOrder(
  person: Person,
  input: Record<string, unknown>,
): Promise<{ id: string; status: string }> {
  return (
    await gqlOk<{ placeOrder: { id: string; status: string } }>(
      url,
      'mutation ($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }',
      { i: input },
      person.token,
    )
  ).placeOrder;
}

beforeAll(async () => {
  chain = await startLocalChain();
  provider = localProvider(chain);
  funder = localSigner(chain, 0, provider);
  token = await deployTestToken(chain, funder);
  platform = await startPlatform({
    env: {
      EXCHANGE_ADMIN_EMAIL: adminEmail,
      EXCHANGE_ADMIN_PASSWORD: adminPassword,
      ETH_RPC_URL: chain.rpcUrl,
      ETH_MIN_CONFIRMATIONS: String(minConfirmations),
      ETH_POLL_INTERVAL_MS: '100',
      USDT_TOKEN_ADDRESS: token.address,
      ETH_HOT_WALLET_KEY: hotWallet.privateKey,
      AML_THRESHOLD_USDT: '5000',
    },
  });
  url = platform.gatewayUrl;
  adminToken = (
    await gqlOk<{ login: { accessToken: string } }>(
      url,
      'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }',
      { i: { email: adminEmail, password: adminPassword } },
    )
  ).login.accessToken;
  const officer = await register('compliance');
  await gqlOk(
    url,
    'mutation ($u: ID!) { setUserRole(userId: $u, role: COMPLIANCE) { role } }',
    { u: officer.id },
    adminToken,
  );
  complianceToken = officer.token;
}, 300_000);

afterAll(async () => {
  await platform?.stop();
  await chain?.stop();
});

describe('money trail on a local Ethereum node', () => {
  const alice = {} as Person;
  const bob = {} as Person;
  const carol = {} as Person;

  it('starts consistent; the operator funds the hot wallet, which is not user money', async () => {
    await expectMoneyTrailConsistent();
    await funder.sendTransaction({ to: hotWallet.address, value: parseEther('5') });
    await token.mint(hotWallet.address, usdt(10_000));
    await expectMoneyTrailConsistent();
  });

  it('credits ETH and USDT deposits after the confirmations, not before', async () => {
    Object.assign(alice, await register('alice'));
    Object.assign(bob, await register('bob'));
    Object.assign(carol, await register('carol'));
    const aliceEth = await depositAddress(alice, 'ETH');
    const bobUsdt = await depositAddress(bob, 'USDT');
    const carolUsdt = await depositAddress(carol, 'USDT');
    await funder.sendTransaction({ to: aliceEth, value: parseEther('5') });
    const mint = token.contract.getFunction('mint');
    await mint(bobUsdt, usdt(20_000));
    await mint(carolUsdt, usdt(5_000));
    await chain.mine(1);
    // In a block, one confirmation: seen as PENDING, nothing credited.
    const pending = await eventually(
      'deposits seen',
      async () => [
        ...(await transactionsOf(alice)),
        ...(await transactionsOf(bob)),
        ...(await transactionsOf(carol)),
      ],
      (rows) => rows.length === 3,
    );
    expect(pending.map((row) => row.status)).toEqual(['PENDING', 'PENDING', 'PENDING']);
    // One block short of the confirmations, once the watcher has counted it: still nothing.
    await chain.mine(minConfirmations - 2);
    await eventually(
      'N-1 confirmations counted',
      async () => (await transactionsOf(alice))[0]!,
      (row) => row.confirmations === minConfirmations - 1,
    );
    expect((await transactionsOf(alice))[0]!.status).toBe('PENDING');
    expect((await accounts(alice))['ETH']!.available).toBe('0');
    expect((await accounts(bob))['USDT']!.available).toBe('0');

    await mineUntil(
      'deposits credited',
      async () => [
        (await accounts(alice))['ETH']!.available,
        (await accounts(bob))['USDT']!.available,
        (await accounts(carol))['USDT']!.available,
      ],
      ([eth, tether, carols]) => eth === '5' && tether === '20000' && carols === '5000',
    );
    expect((await transactionsOf(alice))[0]!.statusHistory.map((step) => step.status)).toEqual([
      'PENDING',
      'CONFIRMED',
    ]);
    await expectMoneyTrailConsistent();
  });

  it('settles a trade with exact fees, and the journal books it', async () => {
    // Bob rests a bid (maker, 0.1% fee in ETH); Alice sells into it (taker, 0.2% fee in USDT).
    const bid = await placeOrder(bob, {
      symbol: 'ETH-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '2000',
      quantity: '1',
    });
    expect(bid.status).toBe('OPEN');
    const ask = await placeOrder(alice, {
      symbol: 'ETH-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '2000',
      quantity: '1',
    });
    expect(ask.status).toBe('FILLED');
    const [a, b] = await Promise.all([accounts(alice), accounts(bob)]);
    expect([a['ETH']!.available, a['USDT']!.available]).toEqual(['4', '1996']);
    expect([b['ETH']!.available, b['USDT']!.available, b['USDT']!.locked]).toEqual(['0.999', '18000', '0']);
    await expectMoneyTrailConsistent();
  });

  it('sends a withdrawal end to end: held, signed, broadcast, confirmed on chain, settled', async () => {
    await prepareForWithdrawals(alice);
    const destination = Wallet.createRandom().address;
    const requested = await requestWithdrawal(alice, {
      currency: 'ETH',
      amount: '1.5',
      address: destination,
    });
    expect(['HELD', 'APPROVED', 'SIGNED', 'BROADCAST']).toContain(requested.status);
    // Held at once: the amount can no longer be traded away.
    expect((await accounts(alice))['ETH']).toMatchObject({ available: '2.5', locked: '1.5' });

    const done = await mineUntil(
      'withdrawal completed',
      () => withdrawal(alice, requested.id),
      (row) => row.status === 'COMPLETED',
    );
    const steps = done.statusHistory.map((step) => step.status);
    expect(steps.slice(0, 4)).toEqual(['REQUESTED', 'HELD', 'APPROVED', 'SIGNED']);
    expect(steps.filter((step) => ['BROADCAST', 'CONFIRMED', 'COMPLETED'].includes(step))).toEqual([
      'BROADCAST',
      'CONFIRMED',
      'COMPLETED',
    ]);
    expect(formatEther(await provider.getBalance(destination))).toBe('1.5');
    const receipt = await provider.getTransactionReceipt(done.txHash!);
    expect(receipt?.status).toBe(1);
    expect((await accounts(alice))['ETH']).toMatchObject({ available: '2.5', locked: '0' });
    await expectMoneyTrailConsistent();
  });

  it('holds an AML-flagged withdrawal for compliance, then sends it once approved', async () => {
    await prepareForWithdrawals(bob);
    const destination = Wallet.createRandom().address;
    const requested = await requestWithdrawal(bob, {
      currency: 'USDT',
      amount: '6000',
      address: destination,
    });
    const flagged = await eventually(
      'AML review',
      () => withdrawal(bob, requested.id),
      (row) => row.status === 'PENDING_REVIEW',
    );
    // The owner is not told why; compliance sees the flags in its review queue.
    expect(flagged.amlFlags).toEqual([]);
    const queue = await gqlOk<{ withdrawals: Array<{ id: string; amlFlags: string[] }> }>(
      url,
      '{ withdrawals(status: ["PENDING_REVIEW"]) { id amlFlags } }',
      {},
      complianceToken,
    );
    expect(queue.withdrawals.find((row) => row.id === requested.id)?.amlFlags).toContain(
      'AMOUNT_OVER_THRESHOLD',
    );
    // Nothing moves while it waits, whatever is mined.
    await chain.mine(minConfirmations + 1);
    expect((await withdrawal(bob, requested.id)).status).toBe('PENDING_REVIEW');
    expect(await token.balanceOf(destination)).toBe(0n);
    expect((await accounts(bob))['USDT']).toMatchObject({ available: '12000', locked: '6000' });
    await expectMoneyTrailConsistent();

    // A user cannot decide their own case; compliance can.
    const selfReview = await gql(
      url,
      'mutation ($id: ID!) { reviewWithdrawal(id: $id, decision: APPROVE, reason: "mine") { id } }',
      { id: requested.id },
      bob.token,
    );
    expect(selfReview.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await gqlOk(
      url,
      'mutation ($id: ID!) { reviewWithdrawal(id: $id, decision: APPROVE, reason: "source of funds checked") { status } }',
      { id: requested.id },
      complianceToken,
    );
    await mineUntil(
      'approved withdrawal completed',
      () => withdrawal(bob, requested.id),
      (row) => row.status === 'COMPLETED',
    );
    expect(await token.balanceOf(destination)).toBe(usdt(6000));
    expect((await accounts(bob))['USDT']).toMatchObject({ available: '12000', locked: '0' });
    await expectMoneyTrailConsistent();
  });

  it('fails a withdrawal the hot wallet cannot pay and releases the funds', async () => {
    // The hot wallet has 4,000 USDT left; Carol asks for 4,500 (under the AML threshold).
    expect(await token.balanceOf(hotWallet.address)).toBe(usdt(4000));
    await prepareForWithdrawals(carol);
    const requested = await requestWithdrawal(carol, {
      currency: 'USDT',
      amount: '4500',
      address: Wallet.createRandom().address,
    });
    const released = await mineUntil(
      'failed withdrawal released',
      () => withdrawal(carol, requested.id),
      (row) => row.status === 'RELEASED',
    );
    expect(released.statusHistory.map((step) => step.status)).toContain('FAILED');
    expect((await accounts(carol))['USDT']).toMatchObject({ available: '5000', locked: '0' });
    expect(await token.balanceOf(hotWallet.address)).toBe(usdt(4000));
    await expectMoneyTrailConsistent();
  });

  it('credits nothing for a deposit whose block is reorged away before its confirmations', async () => {
    const dave = await register('dave');
    const address = await depositAddress(dave, 'ETH');
    const snapshot = await chain.snapshot();
    await funder.sendTransaction({ to: address, value: parseEther('2') });
    await chain.mine(minConfirmations - 2);
    const [seen] = await eventually(
      'deposit seen',
      () => transactionsOf(dave),
      (rows) => rows.length === 1,
    );
    expect(seen!.status).toBe('PENDING');
    // A longer branch without the transaction replaces the one that carried it.
    await chain.reorg(snapshot, minConfirmations + 2);
    await mineUntil(
      'deposit orphaned',
      () => transactionsOf(dave),
      (rows) => rows[0]?.status === 'ORPHANED',
    );
    await chain.mine(minConfirmations * 2);
    expect((await transactionsOf(dave)).map((row) => row.status)).toEqual(['ORPHANED']);
    expect((await accounts(dave))['ETH']).toMatchObject({ available: '0', locked: '0' });
    await expectMoneyTrailConsistent();
  });

  it('a restarted wallets service neither misses nor doubles a deposit', async () => {
    const erin = await register('erin');
    const address = await depositAddress(erin, 'ETH');
    await funder.sendTransaction({ to: address, value: parseEther('1') });
    await chain.mine(1);
    await eventually(
      'first deposit seen',
      () => transactionsOf(erin),
      (rows) => rows.length === 1,
    );
    // The second one is mined while the service restarts: whether it saw it or not, it resumes from
    // its persisted cursor.
    await funder.sendTransaction({ to: address, value: parseEther('0.25') });
    await Promise.all([platform.restart('wallets'), chain.mine(1)]);
    await mineUntil(
      'both deposits credited',
      async () => (await accounts(erin))['ETH']!.available,
      (available) => available === '1.25',
    );
    await chain.mine(minConfirmations * 2);
    expect((await accounts(erin))['ETH']!.available).toBe('1.25');
    const rows = await transactionsOf(erin);
    expect(rows.map((row) => row.status)).toEqual(['CONFIRMED', 'CONFIRMED']);
    await expectMoneyTrailConsistent();
  });

  it('records every step in the audit chain, which compliance reads', async () => {
    const entries = await eventually(
      'wallets audit shipped',
      async () =>
        (
          await gqlOk<{ auditLog: Array<{ action: string; source: string }> }>(
            url,
            'query ($u: ID) { auditLog(userId: $u, first: 200) { action source } }',
            { u: bob.id },
            complianceToken,
          )
        ).auditLog,
      (rows) => rows.some((row) => row.action === 'WITHDRAWAL_COMPLETED'),
    );
    const actions = new Set(entries.map((row) => `${row.source}:${row.action}`));
    for (const expected of [
      'identity:USER_REGISTERED',
      'identity:KYC_SUBMITTED',
      'identity:TWO_FACTOR_ENABLED',
      'wallets:DEPOSIT_CREDITED',
      'orders:ORDER_PLACED',
      'wallets:WITHDRAWAL_REQUESTED',
      'wallets:WITHDRAWAL_PENDING_REVIEW',
      'wallets:WITHDRAWAL_APPROVED',
      'wallets:WITHDRAWAL_COMPLETED',
    ])
      expect(actions).toContain(expected);
    const carols = (
      await gqlOk<{ auditLog: Array<{ action: string }> }>(
        url,
        'query ($u: ID) { auditLog(userId: $u, source: "wallets", first: 200) { action } }',
        { u: carol.id },
        complianceToken,
      )
    ).auditLog.map((row) => row.action);
    expect(carols).toEqual(expect.arrayContaining(['WITHDRAWAL_FAILED', 'WITHDRAWAL_RELEASED']));
    await expectMoneyTrailConsistent();
  });
});
