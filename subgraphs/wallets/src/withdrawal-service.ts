/**
 * Withdrawal use cases behind the resolvers: request (validation, idempotency, KYC, 2FA, allowlist,
 * 24h tier limit, the core hold), compliance review, operator retry/fail, the address allowlist.
 * Refusals change nothing; every state change goes through `applyTransitions` (persisted, audited).
 * The hot-wallet processor (src/chain/withdrawal-processor.ts) takes over from APPROVED.
 */
import {
  formatDecimal,
  IdentityUnavailableError,
  parseDecimal,
  type Database,
  type IdentityInternalClient,
  type Logger,
} from '@graphex/runtime';
import { apiError, resultCodeToErrorCode, type CoreClient, type ResultCode } from '@graphex/schema';
import type { JsonRpcProvider } from 'ethers';
import {
  decimalsOf,
  destinationAddress,
  operatorFailableFrom,
  requestFingerprint,
  validIdempotencyKey,
  withdrawalCurrency,
  type AmlConfig,
  type WithdrawalCurrency,
  type WithdrawalStatus,
} from './domain/withdrawal.ts';
import { coreAssetIds, dayMs, submitHold } from './chain/withdrawal-core.ts';
import { confirmationsAt } from './domain/deposit.ts';
import { readCursor } from './store/chain.ts';
import {
  addToAllowlist,
  allowlistOf,
  applyTransitions,
  findWithdrawal,
  findWithdrawalByKey,
  forgetRefusedRequest,
  IllegalWithdrawalTransition,
  recordWithdrawalRequest,
  recentWithdrawals,
  removeFromAllowlist,
  type Transition,
  type WithdrawalRow,
} from './store/withdrawals.ts';

export interface WithdrawalRequestInput {
  readonly currency: string;
  readonly amount: string;
  readonly address: string;
  readonly totpCode: string;
  readonly idempotencyKey: string;
}

export interface Operator {
  readonly userId: string;
  readonly role: string;
}

export interface WithdrawalServiceOptions {
  readonly db: Database;
  readonly core: CoreClient;
  readonly identity: IdentityInternalClient;
  readonly aml: AmlConfig;
  /** The hot wallet's address (withdrawals to it are refused); null when no signer is configured. */
  readonly hotWalletAddress: string | null;
  /** The node, to check an operator's `fail` of a signed transaction against the chain. */
  readonly provider: JsonRpcProvider | null;
  /** ETH_MIN_CONFIRMATIONS: the depth at which what the chain says about a nonce is final. */
  readonly minConfirmations: number;
  readonly logger: Logger;
}

export interface WithdrawalService {
  request(userId: string, input: WithdrawalRequestInput): Promise<WithdrawalRow>;
  review(
    operator: Operator,
    id: string,
    decision: 'APPROVE' | 'REJECT',
    reason: string,
  ): Promise<WithdrawalRow>;
  retry(operator: Operator, id: string): Promise<WithdrawalRow>;
  fail(operator: Operator, id: string, reason: string): Promise<WithdrawalRow>;
  addAllowedAddress(userId: string, address: string, totpCode: string): Promise<string[]>;
  removeAllowedAddress(userId: string, address: string, totpCode: string): Promise<string[]>;
}

const maxReasonLength = 500;

function validReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length === 0 || trimmed.length > maxReasonLength) {
    throw apiError('BAD_USER_INPUT', `reason must be 1..${maxReasonLength} characters.`, {
      argument: 'reason',
    });
  }
  // Control characters (NUL above all: PostgreSQL text refuses it) have no place in a reason that
  // is stored, audited and shown to staff.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) {
    throw apiError('BAD_USER_INPUT', 'reason must not contain control characters (line breaks included).', {
      argument: 'reason',
    });
  }
  return trimmed;
}

/** Nobody decides on their own withdrawal, whatever their role (four eyes). */
function refuseOwnWithdrawal(operator: Operator, withdrawal: WithdrawalRow): void {
  if (operator.userId === withdrawal.userId) {
    throw apiError('FORBIDDEN', 'Staff cannot review, retry or fail their own withdrawal.');
  }
}

function validTotp(code: string): string {
  if (!/^\d{6,8}$/.test(code)) {
    throw apiError('TWO_FACTOR_INVALID', 'totpCode must be the 6-digit code of your authenticator app.');
  }
  return code;
}

export function createWithdrawalService(options: WithdrawalServiceOptions): WithdrawalService {
  const { db, core, identity, aml, logger } = options;
  let assets: ReadonlyMap<WithdrawalCurrency, number> | null = null;

  const identityCall = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof IdentityUnavailableError) {
        throw apiError('SERVICE_UNAVAILABLE', 'Identity is unavailable; nothing changed, retry later.');
      }
      throw error;
    }
  };

  /** 2FA: enabled and the code valid (each code works once). */
  const checkTotp = async (userId: string, code: string): Promise<void> => {
    const outcome = await identityCall(() => identity.verifyTwoFactor(userId, validTotp(code), 'WITHDRAWAL'));
    if (outcome === 'OK') return;
    if (outcome === 'NOT_ENABLED')
      throw apiError('TWO_FACTOR_REQUIRED', 'Enable two-factor authentication to withdraw.');
    if (outcome === 'LOCKED')
      throw apiError('ACCOUNT_LOCKED', 'Too many wrong two-factor codes recently; try again later.');
    throw apiError('TWO_FACTOR_INVALID', 'The two-factor code is wrong, expired or already used.');
  };

  const transition = async (id: string, transitions: readonly Transition[]): Promise<WithdrawalRow> => {
    try {
      return await db.transaction((tx) => applyTransitions(tx, id, transitions));
    } catch (error) {
      if (error instanceof IllegalWithdrawalTransition) {
        if (error.current === null) throw apiError('NOT_FOUND', 'No such withdrawal.');
        throw apiError('INVALID_STATE_TRANSITION', `${error.message}.`, { status: error.current });
      }
      throw error;
    }
  };

  const existing = async (id: string): Promise<WithdrawalRow> => {
    const withdrawal = id.length <= 64 ? await findWithdrawal(db, id) : null;
    if (!withdrawal) throw apiError('NOT_FOUND', 'No such withdrawal.');
    return withdrawal;
  };

  /**
   * A signed transaction can be abandoned only when the chain proves, at confirmation depth (the
   * same ETH_MIN_CONFIRMATIONS counted up to the watcher's verified cursor as a success needs),
   * that it will never be mined successfully: a reverted receipt or another transaction with its
   * nonce, either of which a shallower reorg could still undo.
   */
  const refusalToAbandon = async (withdrawal: WithdrawalRow): Promise<string | null> => {
    if (withdrawal.rawTx === null || withdrawal.txHash === null || withdrawal.nonce === null) return null;
    if (!options.provider || !options.hotWalletAddress) {
      return 'its transaction was signed and the node is not configured to prove it will never be mined';
    }
    const cursor = (await readCursor(db, 'ethereum'))?.number ?? null;
    const atDepth = (blockNumber: number): boolean =>
      cursor !== null && confirmationsAt(blockNumber, cursor) >= options.minConfirmations;
    const receipt = await options.provider.getTransactionReceipt(withdrawal.txHash);
    if (receipt && receipt.status === 1) return 'its transaction was mined successfully';
    if (receipt) {
      return atDepth(receipt.blockNumber)
        ? null
        : `its transaction reverted in block ${receipt.blockNumber}, which is not ${options.minConfirmations} confirmations deep yet (a reorg could still mine it again)`;
    }
    if (await options.provider.getTransaction(withdrawal.txHash)) {
      return 'its transaction is waiting in the node; it may still be mined';
    }
    // Nonces used up to the deepest block that counts as confirmed.
    const deepBlock = cursor === null ? -1 : cursor - options.minConfirmations + 1;
    const deepNonces =
      deepBlock < 0 ? 0 : await options.provider.getTransactionCount(options.hotWalletAddress, deepBlock);
    if (deepNonces > withdrawal.nonce) return null; // another transaction took its nonce for good
    return `its signed transaction (nonce ${withdrawal.nonce}) could still be mined; retry it, or first mine another transaction with that nonce and wait ${options.minConfirmations} confirmations`;
  };

  const service: WithdrawalService = {
    async request(userId, input) {
      const currency = withdrawalCurrency(input.currency);
      const amountBaseUnits = parseDecimal(input.amount, decimalsOf(currency), 'amount');
      if (amountBaseUnits <= 0n) {
        throw apiError('BAD_USER_INPUT', 'amount must be greater than zero.', { argument: 'amount' });
      }
      const address = destinationAddress(input.address);
      if (options.hotWalletAddress && address.toLowerCase() === options.hotWalletAddress.toLowerCase()) {
        throw apiError('BAD_USER_INPUT', "address is the exchange's own hot wallet.", {
          argument: 'address',
        });
      }
      const idempotencyKey = validIdempotencyKey(input.idempotencyKey);
      const fingerprint = requestFingerprint(currency, amountBaseUnits, address);

      // A replay answers the first request, without spending another TOTP code.
      const replay = await findWithdrawalByKey(db, userId, idempotencyKey);
      if (replay) {
        if (replay.requestFingerprint !== fingerprint) {
          throw apiError(
            'IDEMPOTENCY_KEY_REUSED',
            'This idempotencyKey was already used for a different withdrawal (currency, amount or address).',
          );
        }
        return replay;
      }

      const policy = await identityCall(() => identity.withdrawalPolicy(userId));
      if (!policy || policy.kycStatus !== 'APPROVED') {
        throw apiError('KYC_REQUIRED', 'Withdrawals need approved KYC.');
      }
      if (!policy.twoFactorEnabled) {
        throw apiError('TWO_FACTOR_REQUIRED', 'Enable two-factor authentication to withdraw.');
      }
      const allowlist = await allowlistOf(db, userId);
      if (allowlist.length > 0 && !allowlist.includes(address.toLowerCase())) {
        throw apiError(
          'WITHDRAWAL_ADDRESS_NOT_ALLOWED',
          'This address is not on your withdrawal address allowlist.',
        );
      }
      const limitText = policy.limits.find((limit) => limit.currency === currency)?.limit24h ?? '0';
      const limitUnits = parseDecimal(limitText, decimalsOf(currency), 'limit24h');
      const exceeded = (usedUnits: bigint) =>
        apiError(
          'LIMIT_EXCEEDED',
          `This withdrawal would exceed your 24h ${currency} limit of ${limitText} (KYC tier ${policy.kycTier}); already used in the last 24h: ${formatDecimal(usedUnits, decimalsOf(currency))}.`,
          { limit24h: limitText },
        );
      // Checked before the TOTP code is spent, and again under the per-user lock when recording.
      const used = await recentWithdrawals(db, userId, currency, dayMs);
      if (used.unitsInCurrency + amountBaseUnits > limitUnits) throw exceeded(used.unitsInCurrency);
      // The core is asked before the TOTP code is spent: an unreachable core changes nothing.
      let afterEventSeq: number;
      try {
        assets ??= await coreAssetIds(core);
        afterEventSeq = await core.lastEventSeq();
      } catch (error) {
        logger.warn('matching core unavailable for a withdrawal request', {
          error: (error as Error).message,
        });
        throw apiError(
          'SERVICE_UNAVAILABLE',
          'The exchange core is unavailable; nothing changed, retry later.',
        );
      }
      try {
        await checkTotp(userId, input.totpCode);
      } catch (error) {
        // A concurrent request with the same key (a client retry) spent the code first: it is the
        // same request, so it gets the same answer.
        const first = await findWithdrawalByKey(db, userId, idempotencyKey);
        if (!first) throw error;
        if (first.requestFingerprint !== fingerprint) {
          throw apiError(
            'IDEMPOTENCY_KEY_REUSED',
            'This idempotencyKey was already used for a different withdrawal (currency, amount or address).',
          );
        }
        return first;
      }

      const assetId = assets.get(currency)!;
      const recorded = await recordWithdrawalRequest(db, {
        userId,
        currency,
        amountBaseUnits,
        address,
        idempotencyKey,
        requestFingerprint: fingerprint,
        limitUnits,
        limitWindowMs: dayMs,
        afterEventSeq,
      });
      if (recorded.kind === 'limit-exceeded') throw exceeded(recorded.usedUnits);
      if (recorded.kind === 'existing') {
        if (recorded.withdrawal.requestFingerprint !== fingerprint) {
          throw apiError(
            'IDEMPOTENCY_KEY_REUSED',
            'This idempotencyKey was already used for a different withdrawal.',
          );
        }
        return recorded.withdrawal;
      }
      let outcome;
      try {
        outcome = await submitHold(db, core, recorded.withdrawal, assetId, aml);
      } catch (error) {
        // Unknown outcome: the HOLD intent stays; the processor resolves it from the core's log.
        logger.warn('withdrawal hold outcome unknown; left to the processor', {
          transactionId: recorded.withdrawal.transactionId,
          error: (error as Error).message,
        });
        return (await findWithdrawal(db, recorded.withdrawal.transactionId))!;
      }
      if (outcome.kind === 'refused') {
        const code = resultCodeToErrorCode[outcome.resultCode as ResultCode] ?? 'INTERNAL_SERVER_ERROR';
        await forgetRefusedRequest(db, recorded.withdrawal.transactionId, code);
        throw apiError(
          code,
          code === 'INSUFFICIENT_FUNDS'
            ? `Your available ${currency} balance does not cover ${input.amount}; nothing was held.`
            : 'The exchange refused to hold the funds; nothing changed.',
        );
      }
      logger.info('withdrawal requested', {
        transactionId: outcome.withdrawal.transactionId,
        status: outcome.withdrawal.status,
      });
      return outcome.withdrawal;
    },

    async review(operator, id, decision, reason) {
      const why = validReason(reason);
      refuseOwnWithdrawal(operator, await existing(id));
      return transition(id, [
        {
          from: ['PENDING_REVIEW'],
          to: decision === 'APPROVE' ? 'APPROVED' : 'REJECTED',
          changes: { reviewDecision: decision, reviewedBy: operator.userId, reviewReason: why },
          actor: operator,
          reason: why,
        },
      ]);
    },

    async retry(operator, id) {
      const withdrawal = await existing(id);
      refuseOwnWithdrawal(operator, withdrawal);
      if (withdrawal.status !== 'NEEDS_ATTENTION' || withdrawal.attentionFrom === null) {
        throw apiError(
          'INVALID_STATE_TRANSITION',
          `Withdrawal ${id} is ${withdrawal.status}; only NEEDS_ATTENTION ones are retried.`,
          {
            status: withdrawal.status,
          },
        );
      }
      const back: WithdrawalStatus = withdrawal.attentionFrom;
      return transition(id, [
        {
          from: ['NEEDS_ATTENTION'],
          to: back,
          changes: { broadcastAttempts: 0, stepFailures: 0, attentionReason: null, attentionFrom: null },
          actor: operator,
          reason: 'operator retry',
        },
      ]);
    },

    async fail(operator, id, reason) {
      const why = validReason(reason);
      const withdrawal = await existing(id);
      refuseOwnWithdrawal(operator, withdrawal);
      if (
        withdrawal.status === 'NEEDS_ATTENTION' &&
        withdrawal.attentionFrom !== null &&
        !operatorFailableFrom.has(withdrawal.attentionFrom)
      ) {
        // Parked from a core step (a hold in flight, a confirmed send to settle, a release): only
        // the core's answer decides it; an operator's fail could lose a hold or pay twice.
        throw apiError(
          'INVALID_STATE_TRANSITION',
          `Withdrawal ${id} needs attention in its ${withdrawal.attentionFrom} step; retry it once the cause is fixed, it cannot be failed.`,
          { status: withdrawal.status },
        );
      }
      if (withdrawal.status !== 'NEEDS_ATTENTION' && withdrawal.status !== 'APPROVED') {
        throw apiError(
          'INVALID_STATE_TRANSITION',
          `Withdrawal ${id} is ${withdrawal.status}; an operator fails only APPROVED or NEEDS_ATTENTION ones (compliance rejects PENDING_REVIEW).`,
          { status: withdrawal.status },
        );
      }
      const refusal = await refusalToAbandon(withdrawal);
      if (refusal) {
        throw apiError('INVALID_STATE_TRANSITION', `Withdrawal ${id} cannot be failed: ${refusal}.`, {
          status: withdrawal.status,
        });
      }
      return transition(id, [
        {
          from: ['NEEDS_ATTENTION', 'APPROVED'],
          to: 'FAILED',
          changes: { failureReason: why },
          actor: operator,
          reason: why,
        },
      ]);
    },

    async addAllowedAddress(userId, address, totpCode) {
      const checked = destinationAddress(address);
      await checkTotp(userId, totpCode);
      await addToAllowlist(db, userId, checked);
      return allowlistOf(db, userId);
    },

    async removeAllowedAddress(userId, address, totpCode) {
      const checked = destinationAddress(address);
      if (!(await allowlistOf(db, userId)).includes(checked.toLowerCase())) {
        throw apiError('NOT_FOUND', 'This address is not on your withdrawal address allowlist.');
      }
      await checkTotp(userId, totpCode);
      await removeFromAllowlist(db, userId, checked);
      return allowlistOf(db, userId);
    },
  };

  /**
   * Requests in flight per (user, idempotency key) in this process: a concurrent retry with the
   * same key waits for the first and then gets its answer (a replay), instead of spending the same
   * TOTP code a second time and being told it is invalid. Across processes, a TOTP refusal is
   * answered with the first request when it is recorded by then.
   */
  const requestsInFlight = new Map<string, Promise<unknown>>();
  return {
    ...service,
    async request(userId, input) {
      const key = `${userId}\n${validIdempotencyKey(input.idempotencyKey)}`;
      for (let earlier = requestsInFlight.get(key); earlier; earlier = requestsInFlight.get(key)) {
        await earlier.catch(() => undefined);
      }
      const current = service.request(userId, input);
      requestsInFlight.set(key, current);
      try {
        return await current;
      } finally {
        if (requestsInFlight.get(key) === current) requestsInFlight.delete(key);
      }
    },
  };
}
