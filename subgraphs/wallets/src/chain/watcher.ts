/**
 * The chain watcher: polls an Ethereum JSON-RPC node (ethers v6), finds deposits to our deposit
 * addresses — native ETH (a successful transaction whose `to` is ours, log index -1) and USDT
 * (Transfer logs of USDT_TOKEN_ADDRESS whose `to` is ours) — records each as a DEPOSIT
 * transaction, and credits it in the matching core once it has ETH_MIN_CONFIRMATIONS.
 *
 * Cursor: the last scanned block and its hash, stored with that block's deposits in one DB
 * transaction; a restart resumes right after it (nothing missed, nothing doubled: deposits are
 * keyed by (tx hash, log index)).
 *
 * Reorgs: the hashes of recent blocks are kept. Before scanning, the cursor block's hash is checked
 * against the node, and every new block's parent hash against the stored hash of its predecessor.
 * On a mismatch the watcher walks back to the newest stored block the node still agrees with (the
 * fork point), marks the uncredited deposits of later blocks ORPHANED and rescans from there.
 * Confirmations count only blocks the watcher has verified, so nothing is credited off a branch it
 * has not checked.
 *
 * Exactly-once crediting (the guarantee, precisely):
 * 1. Intent first: before sending the core `Deposit`, the deposit is marked SUBMITTING together
 *    with the core's last event seq at that moment (one row at most is SUBMITTING: unique index).
 * 2. The core acknowledges only durable commands; on success the deposit becomes CONFIRMED with
 *    the credited marker, core seq and event seq, and a status-history entry, in one DB transaction.
 * 3. After a crash (or a submit whose outcome is unknown), the SUBMITTING deposit is resolved
 *    before anything else is submitted: the core's events after the recorded seq are read; the
 *    first FundsMoved DEPOSIT with the same user, asset and amount is this command's (the watcher
 *    is the only submitter of Deposit commands and has one in flight at most), so the deposit is
 *    marked credited with it; if there is none, the command never became durable and the deposit
 *    goes back to be submitted again.
 * So each (tx hash, log index) is credited at most once and, while the core is reachable,
 * eventually exactly once. Assumptions: no other service submits `Deposit`; one watcher per chain
 * at a time — enforced by a lease row (any number of wallets instances may run the watcher; only
 * the lease holder polls, and it marks SUBMITTING only with at least half the lease left, so a
 * successor cannot take over while a submit is younger than that); and — with a remote core — a
 * request of a crashed watcher is sequenced or dropped by the core before a successor reads the
 * event log (the core has no idempotency key on Deposit; one would remove both core assumptions).
 */
import { randomUUID } from 'node:crypto';
import { getAddress, id as eventTopic, type Block, type JsonRpcProvider, type Log } from 'ethers';
import { ConfigError, type Database, type Logger } from '@graphex/runtime';
import type { CoreClient, PublicCoreEvent } from '@graphex/schema';
import {
  confirmationsAt,
  depositTransactionId,
  findCreditEvent,
  nativeTransferLogIndex,
} from '../domain/deposit.ts';
import {
  applyScannedBlock,
  clearSubmitting,
  depositAddressOwners,
  depositsReadyToCredit,
  markCredited,
  markRejected,
  markSubmitting,
  acquireWatcherLease,
  releaseWatcherLease,
  pruneBlocks,
  readCursor,
  refreshConfirmations,
  rollbackTo,
  storedBlocksBelow,
  submittingDeposit,
  type BlockRef,
  type Chain,
  type ChainDepositRow,
  type FoundDeposit,
  type HotWalletFunding,
  withdrawalTxHashes,
} from '../store/chain.ts';

export const transferTopic = eventTopic('Transfer(address,address,uint256)');

export interface ChainWatcherConfig {
  readonly rpcUrl: string;
  /** Confirmations before a deposit is credited (the block that includes it counts as one). */
  readonly minConfirmations: number;
  /** The USDT ERC-20 contract, checksummed; null watches ETH only. */
  readonly usdtTokenAddress: string | null;
  readonly pollIntervalMs: number;
  /** First block to scan on the very first start (default: the head at that moment). */
  readonly startBlock: number | null;
  /** Blocks scanned per poll at most (a long catch-up takes several polls). */
  readonly maxBlocksPerPoll: number;
  /** Deposits credited per poll at most. */
  readonly maxCreditsPerPoll: number;
  /** Block hashes kept below the cursor beyond the confirmation window, to locate fork points. */
  readonly reorgMarginBlocks: number;
  /** How long the single-watcher lease lasts without renewal (renewed every poll and before each credit). */
  readonly leaseTtlMs: number;
}

export const defaultMinConfirmations = 12;

/** Reads the watcher's configuration; null (watcher disabled) when ETH_RPC_URL is unset. */
export function chainWatcherConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ChainWatcherConfig | null {
  const rpcUrl = env['ETH_RPC_URL'];
  if (!rpcUrl) return null;
  if (!/^https?:\/\//.test(rpcUrl)) throw new ConfigError('ETH_RPC_URL must be an http(s) URL.');
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new ConfigError(`${name} must be an integer in ${min}..${max}.`);
    }
    return Number(raw);
  };
  const token = env['USDT_TOKEN_ADDRESS'];
  let usdtTokenAddress: string | null = null;
  if (token) {
    try {
      usdtTokenAddress = getAddress(token);
    } catch {
      throw new ConfigError(
        'USDT_TOKEN_ADDRESS must be an Ethereum address (EIP-55 checksum when mixed case).',
      );
    }
  }
  const startRaw = env['ETH_START_BLOCK'];
  return {
    rpcUrl,
    minConfirmations: integer('ETH_MIN_CONFIRMATIONS', defaultMinConfirmations, 1, 10_000),
    usdtTokenAddress,
    pollIntervalMs: integer('ETH_POLL_INTERVAL_MS', 4_000, 10, 600_000),
    startBlock: startRaw ? integer('ETH_START_BLOCK', 0, 0, Number.MAX_SAFE_INTEGER) : null,
    maxBlocksPerPoll: integer('ETH_MAX_BLOCKS_PER_POLL', 100, 1, 10_000),
    maxCreditsPerPoll: 100,
    reorgMarginBlocks: 64,
    leaseTtlMs: 60_000,
  };
}

export interface PollReport {
  /** False when another instance holds the watcher lease (this poll did nothing). */
  readonly leader: boolean;
  readonly scannedToBlock: number | null;
  readonly found: number;
  readonly credited: number;
  readonly reorgedToBlock: number | null;
}

/** Core asset ids of the currencies the watcher credits, learnt from the core's AssetAdded events. */
type AssetIds = ReadonlyMap<string, number>;

export class ChainWatcher {
  readonly #db: Database;
  readonly #core: CoreClient;
  readonly #provider: JsonRpcProvider;
  readonly #config: ChainWatcherConfig;
  readonly #logger: Logger;
  readonly #chain: Chain = 'ethereum';
  #assets: AssetIds | null = null;
  #running: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** This watcher's identity in the lease table. */
  readonly #owner = randomUUID();
  /** The withdrawal hot wallet (lower case): transfers to it from elsewhere are operator funding. */
  readonly #hotWallet: string | null;

  constructor(options: {
    readonly db: Database;
    readonly core: CoreClient;
    readonly provider: JsonRpcProvider;
    readonly config: ChainWatcherConfig;
    readonly logger: Logger;
    /** The hot wallet's address, when withdrawals are configured (for the custody report's float). */
    readonly hotWalletAddress?: string | null;
  }) {
    this.#hotWallet = options.hotWalletAddress?.toLowerCase() ?? null;
    this.#db = options.db;
    this.#core = options.core;
    this.#provider = options.provider;
    this.#config = options.config;
    this.#logger = options.logger;
  }

  /** Polls every `pollIntervalMs` until `stop()`; a failed poll is logged and retried next time. */
  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      this.pollOnce()
        .catch((error: unknown) =>
          this.#logger.error('chain watcher poll failed', { error: (error as Error).message }),
        )
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#config.pollIntervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running.catch(() => undefined);
    await releaseWatcherLease(this.#db, this.#chain, this.#owner).catch(() => undefined);
  }

  /** One poll: resolve an in-flight credit, follow the chain (handling reorgs), credit what is ready. */
  pollOnce(): Promise<PollReport> {
    const run = this.#running.catch(() => undefined).then(() => this.#poll());
    this.#running = run;
    return run;
  }

  async #poll(): Promise<PollReport> {
    if (!(await this.#renewLease())) {
      return { leader: false, scannedToBlock: null, found: 0, credited: 0, reorgedToBlock: null };
    }
    const assets = await this.#assetIds();
    await this.#resolveInFlightCredit(assets);

    let found = 0;
    let reorgedToBlock: number | null = null;
    const head = await this.#provider.getBlockNumber();
    let cursor = await readCursor(this.#db, this.#chain);

    if (cursor) {
      const current = await this.#provider.getBlock(cursor.number);
      if (!current || current.hash !== cursor.hash) {
        cursor = await this.#rollBack(cursor.number);
        reorgedToBlock = cursor.number;
      }
    }
    let next = cursor ? cursor.number + 1 : (this.#config.startBlock ?? head);
    const last = Math.min(head, next + this.#config.maxBlocksPerPoll - 1);
    for (; next <= last; next++) {
      const block = await this.#provider.getBlock(next, true);
      if (!block || !block.hash) break; // the node's chain got shorter under us: next poll sees it
      if (cursor && block.parentHash !== cursor.hash) {
        cursor = await this.#rollBack(next);
        reorgedToBlock = cursor.number;
        break;
      }
      const { deposits, fundings } = await this.#depositsIn(block);
      await applyScannedBlock(
        this.#db,
        this.#chain,
        { number: block.number, hash: block.hash, parentHash: block.parentHash },
        deposits,
        block.number,
        fundings,
      );
      found += deposits.length;
      cursor = { number: block.number, hash: block.hash };
    }

    let credited = 0;
    if (cursor) {
      await refreshConfirmations(this.#db, this.#chain, cursor.number);
      credited = await this.#creditReady(cursor.number, assets);
      await pruneBlocks(
        this.#db,
        this.#chain,
        cursor.number - this.#config.minConfirmations - this.#config.reorgMarginBlocks,
      );
    }
    return { leader: true, scannedToBlock: cursor?.number ?? null, found, credited, reorgedToBlock };
  }

  #renewLease(): Promise<boolean> {
    return acquireWatcherLease(this.#db, this.#chain, this.#owner, this.#config.leaseTtlMs);
  }

  /** Finds the newest stored block below `from` that the node still has, and rolls back to it. */
  async #rollBack(from: number): Promise<BlockRef> {
    const window = this.#config.minConfirmations + this.#config.reorgMarginBlocks + 1;
    const stored = await storedBlocksBelow(this.#db, this.#chain, from, window);
    for (const candidate of stored) {
      const onChain = await this.#provider.getBlock(candidate.number);
      if (onChain?.hash === candidate.hash) {
        const result = await rollbackTo(this.#db, this.#chain, candidate);
        this.#logger.warn('chain reorg: rolled back to the fork point', {
          forkBlock: candidate.number,
          orphanedDeposits: result.orphaned.length,
        });
        if (result.creditedButOrphaned.length > 0) {
          // Deeper than the confirmation depth: the credits stand; operators must reconcile.
          this.#logger.error('chain reorg orphaned deposits that were already credited', {
            transactionIds: result.creditedButOrphaned,
          });
        }
        return candidate;
      }
    }
    throw new Error(
      `Chain reorg deeper than the ${window} stored blocks below block ${from}: the watcher stops crediting until an operator intervenes.`,
    );
  }

  async #depositsIn(block: Block): Promise<{ deposits: FoundDeposit[]; fundings: HotWalletFunding[] }> {
    const candidates: Array<{
      address: string;
      currency: string;
      amount: bigint;
      txHash: string;
      logIndex: number;
      from: string;
    }> = [];
    for (const tx of block.prefetchedTransactions) {
      if (tx.to && tx.value > 0n) {
        candidates.push({
          address: tx.to.toLowerCase(),
          currency: 'ETH',
          amount: tx.value,
          txHash: tx.hash.toLowerCase(),
          logIndex: nativeTransferLogIndex,
          from: tx.from.toLowerCase(),
        });
      }
    }
    if (this.#config.usdtTokenAddress) {
      // By block hash: the logs of exactly the block whose hash was checked.
      const logs: Log[] = await this.#provider.getLogs({
        address: this.#config.usdtTokenAddress,
        topics: [transferTopic],
        blockHash: block.hash!,
      });
      for (const log of logs) {
        if (log.removed || log.topics.length !== 3 || log.data.length !== 66) continue;
        const amount = BigInt(log.data);
        if (amount === 0n) continue;
        candidates.push({
          address: `0x${log.topics[2]!.slice(26)}`.toLowerCase(),
          currency: 'USDT',
          amount,
          txHash: log.transactionHash.toLowerCase(),
          logIndex: log.index,
          from: `0x${log.topics[1]!.slice(26)}`.toLowerCase(),
        });
      }
    }
    const fundings: HotWalletFunding[] = [];
    for (const candidate of candidates) {
      if (
        this.#hotWallet === null ||
        candidate.address !== this.#hotWallet ||
        candidate.from === this.#hotWallet
      )
        continue;
      if (candidate.logIndex === nativeTransferLogIndex) {
        const receipt = await this.#provider.getTransactionReceipt(candidate.txHash);
        if (!receipt || receipt.status !== 1 || receipt.blockHash !== block.hash) continue;
      }
      fundings.push({
        txHash: candidate.txHash,
        logIndex: candidate.logIndex,
        currency: candidate.currency,
        amountBaseUnits: candidate.amount,
      });
    }
    if (this.#hotWallet !== null) fundings.push(...(await this.#hotWalletSpends(block, candidates)));
    if (candidates.length === 0) return { deposits: [], fundings };
    const owners = await depositAddressOwners(
      this.#db,
      this.#chain,
      candidates.map((candidate) => candidate.address),
    );
    const deposits: FoundDeposit[] = [];
    for (const candidate of candidates) {
      const userId = owners.get(candidate.address);
      if (!userId) continue;
      if (candidate.logIndex === nativeTransferLogIndex) {
        // A reverted transaction keeps its value: only successful ones are deposits.
        const receipt = await this.#provider.getTransactionReceipt(candidate.txHash);
        if (!receipt || receipt.status !== 1 || receipt.blockHash !== block.hash) continue;
      }
      deposits.push({
        transactionId: depositTransactionId(this.#chain, candidate.txHash, candidate.logIndex),
        userId,
        currency: candidate.currency,
        amountBaseUnits: candidate.amount,
        address: getAddress(candidate.address),
        txHash: candidate.txHash,
        logIndex: candidate.logIndex,
      });
    }
    return { deposits, fundings };
  }

  /**
   * What the hot wallet spent in `block` outside our withdrawals (negative amounts): ETH value and
   * gas of its other transactions, and USDT it sent in them. Withdrawals are known by their hash,
   * stored when they were signed, before they could be mined.
   */
  async #hotWalletSpends(
    block: Block,
    candidates: ReadonlyArray<{
      address: string;
      currency: string;
      amount: bigint;
      txHash: string;
      logIndex: number;
      from: string;
    }>,
  ): Promise<HotWalletFunding[]> {
    const hot = this.#hotWallet!;
    const sent = block.prefetchedTransactions.filter((tx) => tx.from.toLowerCase() === hot);
    const tokenOut = candidates.filter((c) => c.currency === 'USDT' && c.from === hot && c.address !== hot);
    if (sent.length === 0 && tokenOut.length === 0) return [];
    const ours = await withdrawalTxHashes(this.#db, [
      ...sent.map((tx) => tx.hash.toLowerCase()),
      ...tokenOut.map((c) => c.txHash),
    ]);
    const spends: HotWalletFunding[] = [];
    for (const tx of sent) {
      const hash = tx.hash.toLowerCase();
      if (ours.has(hash)) continue;
      const receipt = await this.#provider.getTransactionReceipt(hash);
      if (!receipt || receipt.blockHash !== block.hash) continue;
      const value = receipt.status === 1 && tx.to?.toLowerCase() !== hot ? tx.value : 0n;
      const spent = value + receipt.gasUsed * receipt.gasPrice;
      if (spent > 0n) {
        spends.push({
          txHash: hash,
          logIndex: nativeTransferLogIndex,
          currency: 'ETH',
          amountBaseUnits: -spent,
        });
      }
    }
    for (const transfer of tokenOut) {
      if (ours.has(transfer.txHash)) continue;
      spends.push({
        txHash: transfer.txHash,
        logIndex: transfer.logIndex,
        currency: 'USDT',
        amountBaseUnits: -transfer.amount,
      });
    }
    return spends;
  }

  async #creditReady(headNumber: number, assets: AssetIds): Promise<number> {
    const ready = await depositsReadyToCredit(
      this.#db,
      this.#chain,
      headNumber,
      this.#config.minConfirmations,
      this.#config.maxCreditsPerPoll,
    );
    let credited = 0;
    for (const deposit of ready) {
      if (this.#stopped) break;
      if (confirmationsAt(deposit.blockNumber, headNumber) < this.#config.minConfirmations) continue;
      if (await this.#credit(deposit, assets)) credited++;
    }
    return credited;
  }

  /** Intent, core Deposit, outcome. Returns true when credited now. */
  async #credit(deposit: ChainDepositRow, assets: AssetIds): Promise<boolean> {
    const assetId = assets.get(deposit.currency);
    if (assetId === undefined) throw new Error(`The core has no asset ${deposit.currency}`);
    if (!(await this.#renewLease())) return false;
    const afterEventSeq = await this.#core.lastEventSeq();
    // Half the lease must remain: a submit outlasting that would let a successor recover too early.
    const lease = { owner: this.#owner, minRemainingMs: Math.floor(this.#config.leaseTtlMs / 2) };
    if (!(await markSubmitting(this.#db, deposit.transactionId, afterEventSeq, lease))) return false;
    // From here until the outcome is stored, a crash leaves SUBMITTING: resolved on the next poll.
    const outcome = await this.#core.submit({
      type: 'Deposit',
      userId: deposit.userId,
      assetId,
      amountUnits: deposit.amountBaseUnits,
    });
    if (outcome.result.code !== 0) {
      await markRejected(this.#db, deposit.transactionId, outcome.result.seq, outcome.result.code);
      this.#logger.error('core refused a deposit credit', {
        transactionId: deposit.transactionId,
        resultCode: outcome.result.code,
      });
      return false;
    }
    const event = findCreditEvent(outcome.events, {
      userId: deposit.userId,
      assetId,
      amountBaseUnits: deposit.amountBaseUnits,
    });
    if (!event)
      throw new Error(`Core Deposit seq ${outcome.result.seq} produced no FundsMoved DEPOSIT event`);
    await markCredited(this.#db, deposit.transactionId, outcome.result.seq, event.eventSeq);
    this.#logger.info('deposit credited', {
      transactionId: deposit.transactionId,
      currency: deposit.currency,
      coreSeq: outcome.result.seq,
    });
    return true;
  }

  /** Step 3 of the guarantee: a SUBMITTING deposit is found in the core's events, or cleared. */
  async #resolveInFlightCredit(assets: AssetIds): Promise<void> {
    const inFlight = await submittingDeposit(this.#db, this.#chain);
    if (!inFlight) return;
    const assetId = assets.get(inFlight.currency);
    if (assetId === undefined) throw new Error(`The core has no asset ${inFlight.currency}`);
    const intent = { userId: inFlight.userId, assetId, amountBaseUnits: inFlight.amountBaseUnits };
    let match: Extract<PublicCoreEvent, { type: 'FundsMoved' }> | undefined;
    await scanCoreEvents(this.#core, inFlight.creditAfterEventSeq!, (event) => {
      match = findCreditEvent([event], intent);
      return match !== undefined;
    });
    if (match) {
      await markCredited(this.#db, inFlight.transactionId, match.seq, match.eventSeq);
      this.#logger.warn('deposit credit recovered from the core event log', {
        transactionId: inFlight.transactionId,
        coreSeq: match.seq,
      });
    } else {
      await clearSubmitting(this.#db, inFlight.transactionId);
      this.#logger.warn('deposit credit had not reached the core; it will be submitted again', {
        transactionId: inFlight.transactionId,
      });
    }
  }

  async #assetIds(): Promise<AssetIds> {
    if (this.#assets) return this.#assets;
    const wanted = new Set(['ETH', 'USDT']);
    const found = new Map<string, number>();
    await scanCoreEvents(this.#core, 0, (event) => {
      if (event.type === 'AssetAdded' && wanted.has(event.symbol)) found.set(event.symbol, event.assetId);
      return found.size === wanted.size;
    });
    if (found.size !== wanted.size) {
      throw new Error(`The core's catalog lacks ${[...wanted].filter((s) => !found.has(s)).join(', ')}`);
    }
    this.#assets = found;
    return found;
  }
}

/**
 * Reads the core's event log after `afterEventSeq` up to its current end, stopping early when
 * `visit` returns true.
 */
export async function scanCoreEvents(
  core: CoreClient,
  afterEventSeq: number,
  visit: (event: PublicCoreEvent) => boolean,
): Promise<void> {
  const until = await core.lastEventSeq();
  if (until <= afterEventSeq) return;
  let subscription: { close(): Promise<void> } | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let done = false;
      subscription = core.subscribe(
        afterEventSeq,
        (events) => {
          if (done) return;
          for (const event of events) {
            if (visit(event) || event.eventSeq >= until) {
              done = true;
              resolve();
              return;
            }
          }
        },
        reject,
      );
    });
  } finally {
    await subscription?.close();
  }
}
