/**
 * The withdrawal processor: signs, broadcasts and follows withdrawals from the hot wallet, and
 * settles or releases them in the core. Runs beside the chain watcher; one instance at a time
 * (a lease row renewed every poll, like the watcher's), so two instances never sign with the same
 * nonce.
 *
 * Each poll, in order:
 * 1. Core intents older than `intentGraceMs` (a crash or an unknown outcome): resolved from the
 *    core's event log by withdrawal id, else resubmitted (the core's withdrawal id makes that safe).
 * 2. Chain: BROADCAST/MINED withdrawals are checked against their receipts (any receipt → MINED;
 *    with ETH_MIN_CONFIRMATIONS counted up to the watcher's verified cursor, status 1 → CONFIRMED and
 *    status 0 → FAILED — a revert is final only at the depth a success is; a mined one whose receipt
 *    disappeared was reorged away → BROADCAST and its same signed transaction is broadcast again; a
 *    dropped one is rebroadcast). Then a SIGNED one is broadcast, then APPROVED ones are signed and
 *    broadcast one at a time: nonce taken from the DB and the raw transaction stored (SIGNED)
 *    before it is sent, so a crash rebroadcasts the very same transaction and never signs a second
 *    one for the same withdrawal.
 * 3. Core: CONFIRMED → WithdrawSettle → COMPLETED; FAILED/REJECTED → WithdrawRelease → RELEASED.
 *
 * Bounded retries: a transaction the node will not take (transient errors) or that keeps
 * disappearing is tried `maxBroadcastAttempts` times, then the withdrawal goes to NEEDS_ATTENTION
 * (visible to operators, retried only by an operator's `retryWithdrawal`). A definitive refusal
 * (e.g. the hot wallet cannot pay) of a transaction never broadcast before fails the withdrawal,
 * releases its funds and takes the unused nonce back; after an earlier broadcast (which may have
 * reached the network) it needs an operator instead.
 *
 * Isolation: every step runs per withdrawal; an error (a node or core answer the processor cannot
 * use, e.g. an estimateGas timeout) is that withdrawal's alone and is counted; after
 * `maxStepFailures` in a row it goes to NEEDS_ATTENTION with the error as its reason, and the
 * others keep flowing. A node or core that does not answer at all stops the poll before any step
 * (nobody is blamed for an outage).
 */
import { randomUUID } from 'node:crypto';
import {
  Contract,
  Interface,
  isError,
  Transaction as EthTransaction,
  type JsonRpcProvider,
  type TransactionReceipt,
  type Wallet,
} from 'ethers';
import type { Database, Logger } from '@graphex/runtime';
import { ResultCode, type CoreClient } from '@graphex/schema';
import { exhaustedRetries, type AmlConfig, type WithdrawalStatus } from '../domain/withdrawal.ts';
import { confirmationsAt } from '../domain/deposit.ts';
import { readCursor } from '../store/chain.ts';
import {
  acquireProcessorLease,
  applyTransitions,
  clearStepFailures,
  holdsProcessorLease,
  markIntent,
  recordStepFailure,
  reconcileHotWalletNonce,
  releaseProcessorLease,
  returnNonce,
  takeNonce,
  updateWithdrawal,
  withdrawalsInStatus,
  withdrawalsWithIntent,
  type Transition,
  type WithdrawalRow,
} from '../store/withdrawals.ts';
import {
  coreAssetIds,
  findWithdrawEvent,
  matchWithdrawEvent,
  recordHold,
  submitHold,
  type WithdrawKind,
} from './withdrawal-core.ts';

/** Node messages that refuse a transaction because the sender cannot pay (geth, Hardhat/EDR). */
const refusedForFunds = /insufficient funds|doesn't have enough funds/i;

export const erc20Interface = new Interface(['function transfer(address to, uint256 value) returns (bool)']);

export interface WithdrawalProcessorConfig {
  readonly minConfirmations: number;
  /** The USDT ERC-20 contract; null: USDT withdrawals wait (NEEDS_ATTENTION) until it is configured. */
  readonly usdtTokenAddress: string | null;
  readonly pollIntervalMs: number;
  readonly maxBroadcastAttempts: number;
  /** A core intent younger than this is left to its submitter (it may still be in flight). */
  readonly intentGraceMs: number;
  readonly leaseTtlMs: number;
  /** Withdrawals handled per step and poll at most. */
  readonly batchSize: number;
  /** Consecutive errors of one step on one withdrawal before it goes to NEEDS_ATTENTION. */
  readonly maxStepFailures: number;
}

export interface ProcessorPollReport {
  readonly leader: boolean;
  readonly signed: number;
  readonly broadcast: number;
  readonly settled: number;
  readonly released: number;
}

export class WithdrawalProcessor {
  readonly #db: Database;
  readonly #core: CoreClient;
  readonly #provider: JsonRpcProvider;
  readonly #wallet: Wallet;
  readonly #config: WithdrawalProcessorConfig;
  readonly #aml: AmlConfig;
  readonly #logger: Logger;
  readonly #owner = randomUUID();
  #nonceReady = false;
  #chainId: bigint | null = null;
  #running: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: {
    readonly db: Database;
    readonly core: CoreClient;
    readonly provider: JsonRpcProvider;
    /** The hot wallet (ETH_HOT_WALLET_KEY); not connected: the processor signs offline. */
    readonly wallet: Wallet;
    readonly config: WithdrawalProcessorConfig;
    readonly aml: AmlConfig;
    readonly logger: Logger;
  }) {
    this.#db = options.db;
    this.#core = options.core;
    this.#provider = options.provider;
    this.#wallet = options.wallet;
    this.#config = options.config;
    this.#aml = options.aml;
    this.#logger = options.logger;
  }

  get hotWalletAddress(): string {
    return this.#wallet.address;
  }

  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      this.pollOnce()
        .catch((error: unknown) =>
          this.#logger.error('withdrawal processor poll failed', { error: (error as Error).message }),
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
    await releaseProcessorLease(this.#db, this.#owner).catch(() => undefined);
  }

  pollOnce(): Promise<ProcessorPollReport> {
    const run = this.#running.catch(() => undefined).then(() => this.#poll());
    this.#running = run;
    return run;
  }

  async #poll(): Promise<ProcessorPollReport> {
    if (!(await acquireProcessorLease(this.#db, this.#owner, this.#config.leaseTtlMs))) {
      return { leader: false, signed: 0, broadcast: 0, settled: 0, released: 0 };
    }
    // The node and the core answer at all: when one is down the whole poll stops here, and no
    // withdrawal is blamed (counted towards NEEDS_ATTENTION) for an outage that is not its own.
    await this.#provider.getBlockNumber();
    await this.#core.lastEventSeq();
    await this.#resolveIntents();
    if (!this.#nonceReady) {
      const pending = await this.#provider.getTransactionCount(this.#wallet.address, 'pending');
      const next = await reconcileHotWalletNonce(this.#db, this.#wallet.address, pending);
      this.#logger.info('hot wallet nonce reconciled', { address: this.#wallet.address, nextNonce: next });
      this.#chainId = (await this.#provider.getNetwork()).chainId;
      this.#nonceReady = true;
    }
    await this.#follow();
    const broadcast = await this.#broadcastSigned();
    const signed = await this.#signApproved();
    const settled = await this.#settle();
    const released = await this.#release();
    return { leader: true, signed, broadcast: broadcast + signed, settled, released };
  }

  /** Lease with half its time left: a successor cannot take over while this one acts. */
  async #leaseHeld(): Promise<boolean> {
    if (!(await acquireProcessorLease(this.#db, this.#owner, this.#config.leaseTtlMs))) return false;
    return holdsProcessorLease(this.#db, this.#owner, Math.floor(this.#config.leaseTtlMs / 2));
  }

  /**
   * Runs one step on one withdrawal. An error is that withdrawal's alone: logged and counted, and
   * after `maxStepFailures` in a row the withdrawal is parked in NEEDS_ATTENTION with the error as
   * its reason; the poll goes on with the other withdrawals. Undefined when the step threw.
   */
  async #isolated<T>(
    withdrawal: WithdrawalRow,
    step: string,
    work: () => Promise<T>,
  ): Promise<T | undefined> {
    let result: T;
    try {
      result = await work();
    } catch (error) {
      const message = `${step}: ${(error as Error).message.slice(0, 300)}`;
      const after = await recordStepFailure(
        this.#db,
        withdrawal.transactionId,
        this.#config.maxStepFailures,
        message,
      );
      this.#logger.error(
        after?.status === 'NEEDS_ATTENTION'
          ? 'withdrawal step keeps failing; it needs an operator'
          : 'withdrawal step failed; will retry',
        { transactionId: withdrawal.transactionId, step, error: message },
      );
      return undefined;
    }
    if (withdrawal.stepFailures > 0) await clearStepFailures(this.#db, withdrawal.transactionId);
    return result;
  }

  async #transition(withdrawal: WithdrawalRow, transitions: readonly Transition[]): Promise<WithdrawalRow> {
    return this.#db.transaction((tx) => applyTransitions(tx, withdrawal.transactionId, transitions));
  }

  // -------------------------------------------------------------------------------------------
  // 1. Core intents whose outcome is unknown

  async #resolveIntents(): Promise<void> {
    const stale = await withdrawalsWithIntent(this.#db, this.#config.intentGraceMs, this.#config.batchSize);
    for (const withdrawal of stale) {
      if (this.#stopped || !(await this.#leaseHeld())) return;
      await this.#isolated(withdrawal, 'resolving a core command', () => this.#resolveIntent(withdrawal));
    }
  }

  async #resolveIntent(withdrawal: WithdrawalRow): Promise<void> {
    const kind: WithdrawKind =
      withdrawal.coreIntent === 'HOLD'
        ? 'WITHDRAW_HOLD'
        : withdrawal.coreIntent === 'SETTLE'
          ? 'WITHDRAW_SETTLE'
          : 'WITHDRAW_RELEASE';
    const event = await findWithdrawEvent(
      this.#core,
      withdrawal.coreIntentAfterEventSeq!,
      kind,
      withdrawal.coreWithdrawalId,
    );
    this.#logger.warn('resolving a withdrawal core command with an unknown outcome', {
      transactionId: withdrawal.transactionId,
      intent: withdrawal.coreIntent,
      foundInLog: event !== undefined,
    });
    if (withdrawal.coreIntent === 'HOLD') {
      if (event) {
        await recordHold(this.#db, withdrawal, event.eventSeq, this.#aml);
        return;
      }
      const assetId = (await coreAssetIds(this.#core)).get(withdrawal.currency)!;
      const outcome = await submitHold(this.#db, this.#core, withdrawal, assetId, this.#aml);
      if (outcome.kind === 'refused') {
        // Never held (the user saw no confirmation): nothing to release.
        await this.#transition(withdrawal, [
          {
            from: ['REQUESTED'],
            to: 'FAILED',
            changes: {
              coreIntent: null,
              coreIntentAfterEventSeq: null,
              failureReason: `the core refused the hold (result ${outcome.resultCode})`,
            },
            reason: 'hold refused',
          },
        ]);
        // Nothing was held: the release step takes it FAILED → RELEASED without a core command.
      }
    } else if (event) {
      await this.#finishCoreStep(withdrawal, event.eventSeq);
    } else {
      await this.#submitCoreStep(withdrawal);
    }
  }

  // -------------------------------------------------------------------------------------------
  // 2. Chain

  /** Receipts of BROADCAST and MINED withdrawals: mined, confirmed, reverted, reorged, dropped. */
  async #follow(): Promise<void> {
    const cursor = await readCursor(this.#db, 'ethereum');
    const inFlight = await withdrawalsInStatus(this.#db, ['BROADCAST', 'MINED'], this.#config.batchSize);
    for (const withdrawal of inFlight) {
      if (this.#stopped) return;
      await this.#isolated(withdrawal, 'following the transaction', () =>
        this.#followOne(withdrawal, cursor?.number ?? null),
      );
    }
  }

  async #followOne(withdrawal: WithdrawalRow, cursor: number | null): Promise<void> {
    const receipt = await this.#provider.getTransactionReceipt(withdrawal.txHash!);
    if (receipt) {
      await this.#onReceipt(withdrawal, receipt, cursor);
      return;
    }
    if (withdrawal.status === 'MINED') {
      // Its block was reorged away: back to BROADCAST, and the same signed tx goes out again.
      const back = await this.#transition(withdrawal, [
        {
          from: ['MINED'],
          to: 'BROADCAST',
          changes: { blockNumber: null, blockHash: null, networkFeeWei: null, confirmations: 0 },
          reason: 'reorged out of the chain',
        },
      ]);
      this.#logger.warn('withdrawal transaction reorged out; rebroadcasting it', {
        transactionId: withdrawal.transactionId,
      });
      await this.#send(back, 'BROADCAST');
      return;
    }
    if (await this.#provider.getTransaction(withdrawal.txHash!)) return; // waiting in the mempool
    // Dropped from the mempool: the same tx again — a bounded number of times (a transaction the
    // network keeps dropping, e.g. for its fee, needs an operator, not an endless loop).
    if (exhaustedRetries(withdrawal.broadcastAttempts, this.#config.maxBroadcastAttempts)) {
      await this.#needsAttention(
        withdrawal,
        'BROADCAST',
        `the node dropped the transaction after ${withdrawal.broadcastAttempts} broadcasts`,
      );
      return;
    }
    this.#logger.warn('withdrawal transaction dropped by the node; rebroadcasting it', {
      transactionId: withdrawal.transactionId,
      attempts: withdrawal.broadcastAttempts,
    });
    await this.#send(withdrawal, 'BROADCAST');
  }

  async #onReceipt(
    withdrawal: WithdrawalRow,
    receipt: TransactionReceipt,
    cursor: number | null,
  ): Promise<void> {
    const feeWei = receipt.gasUsed * receipt.gasPrice;
    const blockChanged = withdrawal.blockNumber !== receipt.blockNumber;
    // A reverted transaction is final only at the same depth as a successful one: until then its
    // block can be reorged away and the very same signed transaction mined again on the new
    // branch, where it may succeed. Failing (and releasing) it earlier could pay the user twice.
    const reverted = receipt.status !== 1;
    const confirmations = cursor === null ? 0 : confirmationsAt(receipt.blockNumber, cursor);
    const transitions: Transition[] = [];
    const mined = {
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      networkFeeWei: feeWei,
      confirmations,
    };
    if (withdrawal.status === 'BROADCAST') {
      transitions.push({
        from: ['BROADCAST'],
        to: 'MINED',
        changes: mined,
        blockNumber: receipt.blockNumber,
        ...(reverted ? { reason: 'mined, reverted (receipt status 0); final after the confirmations' } : {}),
      });
      if (reverted) {
        this.#logger.warn('withdrawal transaction reverted; failed once it is confirmed', {
          transactionId: withdrawal.transactionId,
        });
      }
    }
    if (confirmations >= this.#config.minConfirmations) {
      transitions.push(
        reverted
          ? {
              from: ['MINED'],
              to: 'FAILED',
              changes: {
                ...mined,
                failureReason: 'the transaction reverted on chain (receipt status 0)',
              },
              blockNumber: receipt.blockNumber,
              reason: 'reverted',
            }
          : {
              from: ['MINED'],
              to: 'CONFIRMED',
              changes: { confirmations },
              blockNumber: receipt.blockNumber,
            },
      );
      if (reverted) {
        this.#logger.error('withdrawal transaction reverted and confirmed; its funds are released', {
          transactionId: withdrawal.transactionId,
        });
      }
    }
    if (transitions.length > 0) {
      await this.#transition(withdrawal, transitions);
    } else if (blockChanged || withdrawal.confirmations !== confirmations) {
      await this.#db.transaction((tx) => updateWithdrawal(tx, withdrawal.transactionId, ['MINED'], mined));
    }
  }

  /** The one SIGNED withdrawal (if any, e.g. after a crash before its broadcast) goes out now. */
  async #broadcastSigned(): Promise<number> {
    let sent = 0;
    for (const withdrawal of await withdrawalsInStatus(this.#db, ['SIGNED'], this.#config.batchSize)) {
      if (this.#stopped || !(await this.#leaseHeld())) break;
      const status = await this.#isolated(withdrawal, 'broadcasting', () => this.#send(withdrawal, 'SIGNED'));
      if (status === 'BROADCAST') sent++;
    }
    return sent;
  }

  /**
   * Broadcasts the stored raw transaction of a SIGNED (→ BROADCAST) or BROADCAST (rebroadcast)
   * withdrawal and records the outcome. Returns the withdrawal's status afterwards.
   */
  async #send(withdrawal: WithdrawalRow, from: 'SIGNED' | 'BROADCAST'): Promise<WithdrawalStatus> {
    const attempts = withdrawal.broadcastAttempts + 1;
    // Counted before it is sent: a row with 0 attempts was never handed to a node, even if this
    // process dies mid-send (only such a transaction may give its nonce back).
    await this.#db.transaction((tx) =>
      updateWithdrawal(tx, withdrawal.transactionId, [from], { broadcastAttempts: attempts }),
    );
    let failure: { definitive: boolean; message: string } | null = null;
    try {
      await this.#provider.broadcastTransaction(withdrawal.rawTx!);
    } catch (error) {
      // Already known to the node (a rebroadcast, or the first send got through before a crash).
      if (await this.#provider.getTransaction(withdrawal.txHash!).catch(() => null)) {
        failure = null;
      } else if (isError(error, 'INSUFFICIENT_FUNDS') || refusedForFunds.test((error as Error).message)) {
        failure = { definitive: true, message: 'the hot wallet cannot pay for this transaction' };
      } else if (isError(error, 'NONCE_EXPIRED')) {
        // Not retried: only an operator can tell what took the nonce.
        return this.#needsAttention(
          withdrawal,
          from,
          `nonce ${withdrawal.nonce} was used by another transaction`,
        );
      } else {
        failure = { definitive: false, message: (error as Error).message.slice(0, 300) };
      }
    }
    if (failure === null) {
      if (from === 'SIGNED') {
        await this.#transition(withdrawal, [
          { from: ['SIGNED'], to: 'BROADCAST', changes: { broadcastAttempts: attempts } },
        ]);
        this.#logger.info('withdrawal broadcast', {
          transactionId: withdrawal.transactionId,
          txHash: withdrawal.txHash,
          nonce: withdrawal.nonce,
        });
      } else {
        await this.#db.transaction((tx) =>
          updateWithdrawal(tx, withdrawal.transactionId, ['BROADCAST'], { broadcastAttempts: attempts }),
        );
      }
      return 'BROADCAST';
    }
    const reason = failure.message;
    if (failure.definitive && from === 'SIGNED' && withdrawal.broadcastAttempts > 0) {
      // An earlier send may have reached the network (and may still be mined) before this process
      // lost track of it: the nonce cannot be given back, and failing it could pay twice.
      return this.#needsAttention(
        withdrawal,
        'SIGNED',
        `the node refused it (${reason}) after an earlier broadcast that may have reached the network; nonce ${withdrawal.nonce} is kept`,
        attempts,
      );
    }
    if (failure.definitive && from === 'SIGNED') {
      const outcome = await this.#db.transaction(async (tx) => {
        // The node never took it. When its nonce is the last one taken, the next withdrawal reuses
        // it and this one fails (funds released); otherwise later transactions wait behind that
        // nonce, and only an operator can sort it out.
        if (!(await returnNonce(tx, withdrawal.nonce!))) return 'NEEDS_ATTENTION' as const;
        await applyTransitions(tx, withdrawal.transactionId, [
          {
            from: ['SIGNED'],
            to: 'FAILED',
            // The hash stays on record; nonce and raw transaction are given up with the nonce.
            changes: {
              broadcastAttempts: attempts,
              nonce: null,
              rawTx: null,
              failureReason: `broadcast refused (nonce ${withdrawal.nonce} freed): ${reason}`,
            },
            reason,
          },
        ]);
        return 'FAILED' as const;
      });
      if (outcome === 'NEEDS_ATTENTION') {
        return this.#needsAttention(
          withdrawal,
          'SIGNED',
          `the node refused it (${reason}) and later nonces than ${withdrawal.nonce} are taken`,
          attempts,
        );
      }
      this.#logger.error('withdrawal broadcast refused; its funds are released', {
        transactionId: withdrawal.transactionId,
        reason,
      });
      return 'FAILED';
    }
    if (exhaustedRetries(attempts, this.#config.maxBroadcastAttempts)) {
      return this.#needsAttention(
        withdrawal,
        from,
        `broadcast failed ${attempts} times: ${failure.message}`,
        attempts,
      );
    }
    await this.#db.transaction((tx) =>
      updateWithdrawal(tx, withdrawal.transactionId, [from], { broadcastAttempts: attempts }),
    );
    this.#logger.warn('withdrawal broadcast failed; will retry', {
      transactionId: withdrawal.transactionId,
      attempts,
      error: failure.message,
    });
    return from;
  }

  async #needsAttention(
    withdrawal: WithdrawalRow,
    from: 'APPROVED' | 'SIGNED' | 'BROADCAST',
    reason: string,
    attempts = withdrawal.broadcastAttempts,
  ): Promise<'NEEDS_ATTENTION'> {
    await this.#transition(withdrawal, [
      {
        from: [from],
        to: 'NEEDS_ATTENTION',
        changes: { attentionReason: reason, attentionFrom: from, broadcastAttempts: attempts },
        reason,
      },
    ]);
    this.#logger.error('withdrawal needs an operator', { transactionId: withdrawal.transactionId, reason });
    return 'NEEDS_ATTENTION';
  }

  /** Signs APPROVED withdrawals one at a time (only when none is SIGNED), broadcasting each. */
  async #signApproved(): Promise<number> {
    let sent = 0;
    for (const withdrawal of await withdrawalsInStatus(this.#db, ['APPROVED'], this.#config.batchSize)) {
      if (this.#stopped || !(await this.#leaseHeld())) break;
      if ((await withdrawalsInStatus(this.#db, ['SIGNED'], 1)).length > 0) break;
      const status = await this.#isolated(withdrawal, 'signing and broadcasting', async () => {
        const signed = await this.#sign(withdrawal);
        return signed ? this.#send(signed, 'SIGNED') : null;
      });
      if (status === 'BROADCAST') sent++;
      else if (status !== null && status !== undefined) break; // a refused or failing broadcast: later ones wait
    }
    return sent;
  }

  async #sign(withdrawal: WithdrawalRow): Promise<WithdrawalRow | null> {
    let to: string;
    let value: bigint;
    let data: string;
    let gasLimit: bigint;
    if (withdrawal.currency === 'ETH') {
      to = withdrawal.address;
      value = withdrawal.amountBaseUnits;
      data = '0x';
      gasLimit = 21_000n;
      if ((await this.#provider.getCode(to)) !== '0x') {
        // A contract may need more than a plain transfer to accept ETH; without enough gas it reverts.
        try {
          const estimate = await this.#provider.estimateGas({ from: this.#wallet.address, to, value });
          gasLimit = (estimate * 12n) / 10n;
        } catch (error) {
          // Only a revert is the destination's answer; a timeout or a 502 is the node's (retried,
          // counted towards NEEDS_ATTENTION by the caller).
          if (!isError(error, 'CALL_EXCEPTION')) throw error;
          await this.#transition(withdrawal, [
            {
              from: ['APPROVED'],
              to: 'FAILED',
              changes: {
                failureReason: `the destination contract refuses ETH: ${(error as Error).message.slice(0, 200)}`,
              },
              reason: 'the destination refuses the transfer',
            },
          ]);
          return null;
        }
      }
    } else {
      if (!this.#config.usdtTokenAddress) {
        await this.#needsAttention(withdrawal, 'APPROVED', 'USDT_TOKEN_ADDRESS is not configured');
        return null;
      }
      to = this.#config.usdtTokenAddress;
      value = 0n;
      data = erc20Interface.encodeFunctionData('transfer', [withdrawal.address, withdrawal.amountBaseUnits]);
      try {
        const estimate = await new Contract(to, erc20Interface, this.#provider)
          .getFunction('transfer')
          .estimateGas(withdrawal.address, withdrawal.amountBaseUnits, { from: this.#wallet.address });
        gasLimit = (estimate * 12n) / 10n; // a margin: state may change before it is mined
      } catch (error) {
        // The token refuses the transfer from the hot wallet now (e.g. its USDT balance is short).
        // Any other error (timeout, 502, rate limit) is the node's: retried, not a failure.
        if (!isError(error, 'CALL_EXCEPTION')) throw error;
        await this.#transition(withdrawal, [
          {
            from: ['APPROVED'],
            to: 'FAILED',
            changes: {
              failureReason: `the token refuses the transfer: ${(error as Error).message.slice(0, 200)}`,
            },
            reason: 'token transfer would revert',
          },
        ]);
        return null;
      }
    }
    const fees = await this.#provider.getFeeData();
    if (fees.maxFeePerGas === null || fees.maxPriorityFeePerGas === null) {
      throw new Error('The node does not report EIP-1559 fees');
    }
    return this.#db.transaction(async (tx) => {
      const nonce = await takeNonce(tx);
      const transaction = EthTransaction.from({
        type: 2,
        chainId: this.#chainId!,
        nonce,
        to,
        value,
        data,
        gasLimit,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      const rawTx = await this.#wallet.signTransaction(transaction);
      const txHash = EthTransaction.from(rawTx).hash!.toLowerCase();
      // Stored before it is broadcast: a crash from here on rebroadcasts exactly this transaction.
      return applyTransitions(tx, withdrawal.transactionId, [
        { from: ['APPROVED'], to: 'SIGNED', changes: { nonce, rawTx, txHash, broadcastAttempts: 0 } },
      ]);
    });
  }

  // -------------------------------------------------------------------------------------------
  // 3. Core settle / release

  async #settle(): Promise<number> {
    let done = 0;
    for (const withdrawal of await withdrawalsInStatus(this.#db, ['CONFIRMED'], this.#config.batchSize)) {
      if (withdrawal.coreIntent !== null) continue; // in flight: resolved by step 1
      if (this.#stopped || !(await this.#leaseHeld())) break;
      if (await this.#isolated(withdrawal, 'core step', () => this.#submitCoreStep(withdrawal))) done++;
    }
    return done;
  }

  async #release(): Promise<number> {
    let done = 0;
    for (const withdrawal of await withdrawalsInStatus(
      this.#db,
      ['FAILED', 'REJECTED'],
      this.#config.batchSize,
    )) {
      if (withdrawal.coreIntent !== null) continue;
      if (this.#stopped || !(await this.#leaseHeld())) break;
      if (await this.#isolated(withdrawal, 'core step', () => this.#submitCoreStep(withdrawal))) done++;
    }
    return done;
  }

  /** Intent, WithdrawSettle/WithdrawRelease, outcome. True when the step completed now. */
  async #submitCoreStep(withdrawal: WithdrawalRow): Promise<boolean> {
    const settle = withdrawal.status === 'CONFIRMED';
    if (!settle && (await this.#neverHeld(withdrawal))) {
      // Failed before the core ever held anything: nothing to release.
      await this.#transition(withdrawal, [
        {
          from: ['FAILED'],
          to: 'RELEASED',
          changes: { coreIntent: null, coreIntentAfterEventSeq: null },
          reason: 'nothing was held',
        },
      ]);
      return true;
    }
    const afterEventSeq = withdrawal.coreIntentAfterEventSeq ?? (await this.#core.lastEventSeq());
    if (
      !(await markIntent(
        this.#db,
        withdrawal.transactionId,
        withdrawal.status,
        settle ? 'SETTLE' : 'RELEASE',
        afterEventSeq,
      ))
    ) {
      return false;
    }
    const outcome = await this.#core.submit(
      settle
        ? { type: 'WithdrawSettle', withdrawalId: withdrawal.coreWithdrawalId }
        : { type: 'WithdrawRelease', withdrawalId: withdrawal.coreWithdrawalId },
    );
    const kind: WithdrawKind = settle ? 'WITHDRAW_SETTLE' : 'WITHDRAW_RELEASE';
    let eventSeq: number | undefined;
    if (outcome.result.code === ResultCode.OK) {
      eventSeq = matchWithdrawEvent(outcome.events, kind, withdrawal.coreWithdrawalId)?.eventSeq;
    } else if (outcome.result.code === ResultCode.WITHDRAWAL_NOT_FOUND) {
      // An earlier submit of this step got through: its event is in the log.
      eventSeq = (await findWithdrawEvent(this.#core, afterEventSeq, kind, withdrawal.coreWithdrawalId))
        ?.eventSeq;
    }
    if (eventSeq === undefined) {
      throw new Error(
        `Core ${settle ? 'WithdrawSettle' : 'WithdrawRelease'} of withdrawal ${withdrawal.coreWithdrawalId} answered ${outcome.result.code} without its event`,
      );
    }
    await this.#finishCoreStep({ ...withdrawal, coreIntent: settle ? 'SETTLE' : 'RELEASE' }, eventSeq);
    return true;
  }

  async #finishCoreStep(withdrawal: WithdrawalRow, eventSeq: number): Promise<void> {
    const settle = withdrawal.coreIntent === 'SETTLE';
    await this.#transition(withdrawal, [
      settle
        ? {
            from: ['CONFIRMED'],
            to: 'COMPLETED',
            changes: { coreIntent: null, coreIntentAfterEventSeq: null, settleEventSeq: eventSeq },
          }
        : {
            from: ['FAILED', 'REJECTED'],
            to: 'RELEASED',
            changes: { coreIntent: null, coreIntentAfterEventSeq: null, releaseEventSeq: eventSeq },
          },
    ]);
    this.#logger.info(settle ? 'withdrawal settled' : 'withdrawal funds released', {
      transactionId: withdrawal.transactionId,
    });
  }

  async #neverHeld(withdrawal: WithdrawalRow): Promise<boolean> {
    const result = await this.#db.query<{ held: boolean }>(
      'SELECT hold_event_seq IS NOT NULL AS held FROM withdrawals WHERE transaction_id = $1',
      [withdrawal.transactionId],
    );
    return result.rows[0]?.held === false;
  }
}
