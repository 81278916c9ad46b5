/**
 * The chain watcher against a real local Ethereum node (Hardhat network, manual mining), a
 * solc-compiled USDT-like token and the real in-process matching core, on PGlite or PostgreSQL.
 * Every scenario ends with conservation: for every user and asset, the core's balance (folded from
 * its BalanceChanged events) equals the sum of the user's CONFIRMED deposits.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HDNodeWallet, parseEther, type JsonRpcProvider, type Wallet } from 'ethers';
import { createInProcessCoreClient, type InProcessCoreClient } from '@graphex/matching-core';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import type { RunningService } from '@graphex/runtime';
import type { CoreClient } from '@graphex/schema';
import {
  deployTestToken,
  localProvider,
  localSigner,
  startLocalChain,
  type LocalChain,
  type TestToken,
} from '@graphex/tests/chain';
import { createWalletsService, startWallets, walletsMigrationsDir } from '../index.ts';
import { depositTransactionId } from '../domain/deposit.ts';
import { findChainDeposit, listChainDeposits, statusHistoryOf } from '../store/chain.ts';
import { depositAddressFor } from '../store/wallets.ts';
import { accountPath, keyringFromXpub, type DepositKeyring } from './deposit-keys.ts';
import { ChainWatcher, scanCoreEvents, type ChainWatcherConfig } from './watcher.ts';

const minConfirmations = 3;
const assetIdOf: Record<string, number> = { ETH: 2, USDT: 3 };

let chain: LocalChain;
let provider: JsonRpcProvider;
let funder: Wallet;
let token: TestToken;
let core: InProcessCoreClient;
let coreDir: string;
let test: TestDatabase;
let keyring: DepositKeyring;
let config: ChainWatcherConfig;

const watchers: ChainWatcher[] = [];

function newWatcher(coreClient: CoreClient = core): ChainWatcher {
  const watcher = new ChainWatcher({ db: test.db, core: coreClient, provider, config, logger: testLogger });
  watchers.push(watcher);
  return watcher;
}

/** A watcher that died without releasing its lease: a successor must wait for it to expire. */
async function waitForLeaseExpiry(): Promise<void> {
  await sleep(config.leaseTtlMs + 200);
}

afterEach(async () => {
  for (const watcher of watchers.splice(0)) await watcher.stop();
});

async function depositAddress(userId: string, currency: 'ETH' | 'USDT'): Promise<string> {
  return (await depositAddressFor(test.db, keyring, userId, currency, 'ethereum')).address;
}

/** available units per `${userId}:${assetId}`, folded from the core's BalanceChanged events. */
async function coreBalances(): Promise<Map<string, bigint>> {
  const balances = new Map<string, bigint>();
  await scanCoreEvents(core, 0, (event) => {
    if (event.type === 'BalanceChanged') {
      expect(event.lockedUnits).toBe(0n);
      balances.set(`${event.userId}:${event.assetId}`, event.availableUnits);
    }
    return false;
  });
  return balances;
}

async function coreBalance(userId: string, currency: string): Promise<bigint> {
  return (await coreBalances()).get(`${userId}:${assetIdOf[currency]!}`) ?? 0n;
}

/** Σ CONFIRMED deposits per user and asset == the core's balances, and nothing else is in the core. */
async function expectConservation(): Promise<void> {
  const credited = new Map<string, bigint>();
  for (const deposit of await listChainDeposits(test.db, 'ethereum')) {
    expect(['PENDING', 'CONFIRMED', 'ORPHANED']).toContain(deposit.status);
    expect(deposit.status === 'CONFIRMED').toBe(deposit.creditState === 'CREDITED');
    if (deposit.status !== 'CONFIRMED') continue;
    const key = `${deposit.userId}:${assetIdOf[deposit.currency]!}`;
    credited.set(key, (credited.get(key) ?? 0n) + deposit.amountBaseUnits);
  }
  const balances = await coreBalances();
  expect(new Map([...balances].filter(([, units]) => units !== 0n))).toEqual(credited);
  // Each credit is its own core command: distinct core seqs.
  const seqs = (await listChainDeposits(test.db, 'ethereum'))
    .filter((deposit) => deposit.coreSeq !== null)
    .map((deposit) => deposit.coreSeq);
  expect(new Set(seqs).size).toBe(seqs.length);
}

async function statusOf(transactionId: string): Promise<string | undefined> {
  return (await findChainDeposit(test.db, transactionId))?.status;
}

async function sendEth(to: string, value: bigint, from: Wallet = funder): Promise<string> {
  return (await from.sendTransaction({ to, value })).hash.toLowerCase();
}

beforeAll(async () => {
  chain = await startLocalChain();
  provider = localProvider(chain);
  funder = localSigner(chain, 1, provider);
  token = await deployTestToken(chain, localSigner(chain, 0, provider));
  await token.mint(funder.address, 1_000_000_000_000n);
  coreDir = await mkdtemp(path.join(os.tmpdir(), 'wallets-core-'));
  core = await createInProcessCoreClient({ dataDir: coreDir });
  test = await openTestDatabase('wallets', walletsMigrationsDir);
  keyring = keyringFromXpub(
    HDNodeWallet.createRandom(undefined, accountPath).neuter().extendedKey,
    'environment',
  );
  config = {
    rpcUrl: chain.rpcUrl,
    minConfirmations,
    usdtTokenAddress: token.address,
    pollIntervalMs: 50,
    startBlock: (await chain.blockNumber()) + 1,
    maxBlocksPerPoll: 100,
    maxCreditsPerPoll: 100,
    reorgMarginBlocks: 16,
    leaseTtlMs: 1_500,
  };
}, 120_000);

afterAll(async () => {
  provider?.destroy();
  await test?.dispose();
  await core?.close();
  if (coreDir) await rm(coreDir, { recursive: true, force: true });
  await chain?.stop();
});

describe('chain watcher on a local node', () => {
  it('credits an ETH deposit after N confirmations and not before, exactly once', async () => {
    const watcher = newWatcher();
    const user = randomUUID();
    const address = await depositAddress(user, 'ETH');
    const value = parseEther('1.234567890123456789');
    const hash = await sendEth(address, value);
    const id = depositTransactionId('ethereum', hash, -1);

    await chain.mine(1);
    let report = await watcher.pollOnce();
    expect(report.found).toBe(1);
    expect(await statusOf(id)).toBe('PENDING');
    expect((await findChainDeposit(test.db, id))!.confirmations).toBe(1);

    await chain.mine(minConfirmations - 2);
    report = await watcher.pollOnce();
    expect(report.credited).toBe(0);
    expect((await findChainDeposit(test.db, id))!.confirmations).toBe(minConfirmations - 1);
    expect(await coreBalance(user, 'ETH')).toBe(0n);

    await chain.mine(1);
    report = await watcher.pollOnce();
    expect(report.credited).toBe(1);
    const deposit = (await findChainDeposit(test.db, id))!;
    expect(deposit).toMatchObject({
      status: 'CONFIRMED',
      creditState: 'CREDITED',
      amountBaseUnits: value,
      confirmations: minConfirmations,
    });
    expect(await coreBalance(user, 'ETH')).toBe(value);

    // More blocks and polls change nothing.
    await chain.mine(5);
    await watcher.pollOnce();
    await watcher.pollOnce();
    expect(await coreBalance(user, 'ETH')).toBe(value);
    expect((await statusHistoryOf(test.db, id)).map((change) => change.status)).toEqual([
      'PENDING',
      'CONFIRMED',
    ]);
    await expectConservation();
  });

  it('credits USDT Transfer logs per (tx hash, log index), ignores other tokens and reverted transfers', async () => {
    const watcher = newWatcher();
    const [bob, carol] = [randomUUID(), randomUUID()];
    const bobAddress = await depositAddress(bob, 'USDT');
    const carolAddress = await depositAddress(carol, 'USDT');
    // A look-alike token sending "USDT" to Bob is not USDT.
    const fake = await deployTestToken(chain, localSigner(chain, 2, provider));
    await fake.mint(bobAddress, 999_000_000n);
    const asFunder = token.connect(funder);
    // Two logs to Bob and one to Carol in one transaction.
    const sent = (await asFunder.getFunction('transferMany')(
      [bobAddress, carolAddress, bobAddress],
      [1_000_000n, 42n, 2_500_001n],
    )) as { hash: string };
    // ETH sent to a USDT deposit address is still the user's ETH deposit.
    const ethHash = await sendEth(carolAddress, 7n);

    await chain.mine(1);
    await watcher.pollOnce();
    const hash = sent.hash.toLowerCase();
    const ids = [0, 1, 2].map((logIndex) => depositTransactionId('ethereum', hash, logIndex));
    for (const id of ids) expect(await statusOf(id)).toBe('PENDING');
    expect(await coreBalance(bob, 'USDT')).toBe(0n);

    await chain.mine(minConfirmations - 1);
    await watcher.pollOnce();
    for (const id of ids) expect(await statusOf(id)).toBe('CONFIRMED');
    expect(await statusOf(depositTransactionId('ethereum', ethHash, -1))).toBe('CONFIRMED');
    expect(await coreBalance(bob, 'USDT')).toBe(3_500_001n);
    expect(await coreBalance(carol, 'USDT')).toBe(42n);
    expect(await coreBalance(carol, 'ETH')).toBe(7n);

    // A reverted token transfer (insufficient balance) leaves no log and credits nothing.
    const poor = localSigner(chain, 3, provider);
    const failing = (await token.connect(poor).getFunction('transfer')(bobAddress, 5n, {
      gasLimit: 100_000n,
    })) as {
      hash: string;
    };
    await chain.mine(minConfirmations);
    await watcher.pollOnce();
    expect((await provider.getTransactionReceipt(failing.hash))!.status).toBe(0);
    expect(await coreBalance(bob, 'USDT')).toBe(3_500_001n);
    await expectConservation();
  });

  it('a reorg before confirmation credits nothing; a deposit re-mined on the new branch is credited once', async () => {
    const watcher = newWatcher();
    const [dave, erin] = [randomUUID(), randomUUID()];
    const daveEth = await depositAddress(dave, 'ETH');
    const daveUsdt = await depositAddress(dave, 'USDT');
    const erinEth = await depositAddress(erin, 'ETH');
    await watcher.pollOnce();

    const forkBlock = await chain.blockNumber();
    const snapshot = await chain.snapshot();
    // Erin's transaction is signed once and broadcast on both branches: same hash, same deposit.
    // It goes first so that its nonce is valid on the new branch without Dave's transactions.
    const erinRaw = await funder.signTransaction(
      await funder.populateTransaction({ to: erinEth, value: parseEther('0.5') }),
    );
    const erinHash = (await provider.broadcastTransaction(erinRaw)).hash.toLowerCase();
    const ethHash = await sendEth(daveEth, parseEther('2'));
    const usdt = (await token.connect(funder).getFunction('transfer')(daveUsdt, 10_000_000n)) as {
      hash: string;
    };
    await chain.mine(minConfirmations - 1);
    await watcher.pollOnce();
    const daveEthId = depositTransactionId('ethereum', ethHash, -1);
    const daveUsdtId = depositTransactionId('ethereum', usdt.hash.toLowerCase(), 0);
    const erinId = depositTransactionId('ethereum', erinHash, -1);
    for (const id of [daveEthId, daveUsdtId, erinId]) expect(await statusOf(id)).toBe('PENDING');

    // The branch is replaced by a longer one that carries only Erin's transaction.
    await chain.reorg(snapshot, minConfirmations + 2, async () => {
      await provider.broadcastTransaction(erinRaw);
    });
    const report = await watcher.pollOnce();
    // The watcher rolls back exactly to the fork point (no credited deposit is touched).
    expect(report.reorgedToBlock).toBe(forkBlock);
    expect(await statusOf(daveEthId)).toBe('ORPHANED');
    expect(await statusOf(daveUsdtId)).toBe('ORPHANED');
    expect(await statusOf(erinId)).toBe('CONFIRMED');
    expect((await statusHistoryOf(test.db, erinId)).map((change) => change.status)).toEqual([
      'PENDING',
      'ORPHANED',
      'PENDING',
      'CONFIRMED',
    ]);
    expect((await statusHistoryOf(test.db, daveEthId)).map((change) => change.status)).toEqual([
      'PENDING',
      'ORPHANED',
    ]);

    await chain.mine(minConfirmations * 2);
    await watcher.pollOnce();
    expect(await coreBalance(dave, 'ETH')).toBe(0n);
    expect(await coreBalance(dave, 'USDT')).toBe(0n);
    expect(await coreBalance(erin, 'ETH')).toBe(parseEther('0.5'));
    await expectConservation();
  });

  it('a restarted watcher resumes from its cursor: nothing missed, nothing doubled', async () => {
    const frank = randomUUID();
    const address = await depositAddress(frank, 'ETH');
    const first = newWatcher();
    const hashA = await sendEth(address, 1_000n);
    await chain.mine(1);
    await first.pollOnce();
    await first.stop();

    // While no watcher runs: another deposit, and blocks.
    const hashB = await sendEth(address, 2_000n);
    await chain.mine(2);
    const second = newWatcher();
    await second.pollOnce();
    const a = depositTransactionId('ethereum', hashA, -1);
    const b = depositTransactionId('ethereum', hashB, -1);
    expect(await statusOf(a)).toBe('CONFIRMED');
    expect(await statusOf(b)).toBe('PENDING');
    await second.stop();

    await chain.mine(minConfirmations);
    const third = newWatcher();
    await third.pollOnce();
    await third.pollOnce();
    expect(await statusOf(b)).toBe('CONFIRMED');
    expect(await coreBalance(frank, 'ETH')).toBe(3_000n);
    expect((await statusHistoryOf(test.db, a)).map((change) => change.status)).toEqual([
      'PENDING',
      'CONFIRMED',
    ]);
    await expectConservation();
  });

  it('a crash after the core accepted the credit but before wallets recorded it: recovered, not resubmitted', async () => {
    const grace = randomUUID();
    const address = await depositAddress(grace, 'USDT');
    const sent = (await token.connect(funder).getFunction('transfer')(address, 123_456n)) as { hash: string };
    const id = depositTransactionId('ethereum', sent.hash.toLowerCase(), 0);
    await chain.mine(minConfirmations);

    let submits = 0;
    const crashAfterSubmit: CoreClient = {
      submit: async (command) => {
        submits++;
        await core.submit(command);
        throw new Error('process died before recording the outcome');
      },
      subscribe: (after, handler, onError) => core.subscribe(after, handler, onError),
      lastEventSeq: () => core.lastEventSeq(),
      close: async () => undefined,
    };
    await expect(newWatcher(crashAfterSubmit).pollOnce()).rejects.toThrow('process died');
    // The dead watcher still holds the lease: nobody else polls until it expires.
    expect((await newWatcher().pollOnce()).leader).toBe(false);
    await waitForLeaseExpiry();
    expect(submits).toBe(1);
    expect((await findChainDeposit(test.db, id))!.creditState).toBe('SUBMITTING');
    expect(await coreBalance(grace, 'USDT')).toBe(123_456n);

    let resubmits = 0;
    const counting: CoreClient = {
      ...crashAfterSubmit,
      submit: (command) => {
        resubmits++;
        return core.submit(command);
      },
    };
    await newWatcher(counting).pollOnce();
    expect(resubmits).toBe(0);
    const deposit = (await findChainDeposit(test.db, id))!;
    expect(deposit).toMatchObject({ status: 'CONFIRMED', creditState: 'CREDITED' });
    expect(deposit.coreSeq).not.toBeNull();
    expect(await coreBalance(grace, 'USDT')).toBe(123_456n);
    await expectConservation();
  });

  it('a crash before the credit reached the core: submitted again, credited once', async () => {
    const heidi = randomUUID();
    const address = await depositAddress(heidi, 'ETH');
    const hash = await sendEth(address, 31_337n);
    const id = depositTransactionId('ethereum', hash, -1);
    await chain.mine(minConfirmations);

    const crashBeforeSubmit: CoreClient = {
      submit: () => Promise.reject(new Error('connection lost before the core got it')),
      subscribe: (after, handler, onError) => core.subscribe(after, handler, onError),
      lastEventSeq: () => core.lastEventSeq(),
      close: async () => undefined,
    };
    await expect(newWatcher(crashBeforeSubmit).pollOnce()).rejects.toThrow('connection lost');
    await waitForLeaseExpiry();
    expect((await findChainDeposit(test.db, id))!.creditState).toBe('SUBMITTING');
    expect(await coreBalance(heidi, 'ETH')).toBe(0n);

    expect((await newWatcher().pollOnce()).leader).toBe(true);
    // The first poll clears the intent (not in the core's log) and submits it again.
    expect(await statusOf(id)).toBe('CONFIRMED');
    expect(await coreBalance(heidi, 'ETH')).toBe(31_337n);
    await newWatcher().pollOnce();
    expect(await coreBalance(heidi, 'ETH')).toBe(31_337n);
    await expectConservation();
  });

  it('runs one watcher at a time: a second instance waits for the lease', async () => {
    const judy = randomUUID();
    const address = await depositAddress(judy, 'ETH');
    const [one, two] = [newWatcher(), newWatcher()];
    expect((await one.pollOnce()).leader).toBe(true);
    const hash = await sendEth(address, 55n);
    await chain.mine(minConfirmations);
    expect(await two.pollOnce()).toMatchObject({ leader: false, found: 0, credited: 0 });
    expect(await statusOf(depositTransactionId('ethereum', hash, -1))).toBeUndefined();
    await one.stop();
    expect(await two.pollOnce()).toMatchObject({ leader: true, found: 1, credited: 1 });
    expect(await coreBalance(judy, 'ETH')).toBe(55n);
    await expectConservation();
  });

  it('exposes the status history on Transaction through the subgraph', async () => {
    const service: RunningService = await createWalletsService({
      config: testConfig(),
      db: test.db,
      depositKeyring: keyring,
      port: 0,
      logger: testLogger,
    });
    try {
      const ivan = randomUUID();
      const hash = await sendEth(await depositAddress(ivan, 'ETH'), parseEther('0.25'));
      await chain.mine(minConfirmations);
      await newWatcher().pollOnce();
      const response = await callSubgraph<{
        _entities: Array<{
          transactions: Array<{
            id: string;
            amount: string;
            status: string;
            txHash: string;
            confirmations: number;
            statusHistory: Array<{ status: string; at: string; blockNumber: number; confirmations: number }>;
          }>;
        }>;
      }>(
        service.url,
        `query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) {
          ... on User { transactions { id amount status txHash confirmations statusHistory { status at blockNumber confirmations } } } } }`,
        { id: ivan },
        userIdentity(ivan),
      );
      expect(response.errors).toBeUndefined();
      const [transaction] = response.data!._entities[0]!.transactions;
      const receipt = (await provider.getTransactionReceipt(hash))!;
      expect(transaction).toMatchObject({
        id: depositTransactionId('ethereum', hash, -1),
        amount: '0.25',
        status: 'CONFIRMED',
        txHash: hash,
        confirmations: minConfirmations,
      });
      expect(transaction!.statusHistory.map(({ status, blockNumber }) => [status, blockNumber])).toEqual([
        ['PENDING', receipt.blockNumber],
        ['CONFIRMED', receipt.blockNumber],
      ]);
      expect(transaction!.statusHistory[1]!.confirmations).toBe(minConfirmations);
    } finally {
      await service.close();
    }
  });

  it('startWallets runs the watcher from ETH_* settings: a deposit to an issued address is credited on its own', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wallets-service-'));
    const xpub = HDNodeWallet.createRandom(undefined, accountPath).neuter().extendedKey;
    const service = await startWallets(testConfig({ DATA_DIR: dataDir }), {
      port: 0,
      logger: testLogger,
      coreClient: core,
      env: {
        ETH_DEPOSIT_XPUB: xpub,
        ETH_RPC_URL: chain.rpcUrl,
        ETH_MIN_CONFIRMATIONS: '2',
        USDT_TOKEN_ADDRESS: token.address.toLowerCase(),
        ETH_POLL_INTERVAL_MS: '50',
        ETH_START_BLOCK: String((await chain.blockNumber()) + 1),
      },
    });
    try {
      expect(service.chainWatcher).not.toBeNull();
      const kim = randomUUID();
      const issued = await callSubgraph<{ createDepositAddress: { address: string } }>(
        service.url,
        'mutation { createDepositAddress(currency: "USDT") { address } }',
        {},
        userIdentity(kim),
      );
      const address = issued.data!.createDepositAddress.address;
      await token.connect(funder).getFunction('transfer')(address, 8_000_000n);
      await chain.mine(1);
      const statusQuery = `query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) {
        ... on User { transactions { status amount } } } }`;
      const statusNow = async (): Promise<string | undefined> => {
        const response = await callSubgraph<{
          _entities: Array<{ transactions: Array<{ status: string }> }>;
        }>(service.url, statusQuery, { id: kim }, userIdentity(kim));
        return response.data?._entities[0]?.transactions[0]?.status;
      };
      await expect.poll(statusNow, { timeout: 10_000, interval: 50 }).toBe('PENDING');
      expect(await coreBalance(kim, 'USDT')).toBe(0n);
      await chain.mine(1);
      await expect.poll(statusNow, { timeout: 10_000, interval: 50 }).toBe('CONFIRMED');
      expect(await coreBalance(kim, 'USDT')).toBe(8_000_000n);
    } finally {
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
