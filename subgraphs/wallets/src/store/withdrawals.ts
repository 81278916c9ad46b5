/**
 * Withdrawal persistence: the request (with its idempotency key and the HOLD intent), every
 * state transition with its status-history entry in one DB transaction, the hot wallet's nonce, the
 * address allowlist and the operator's listing.
 */
import { randomUUID } from 'node:crypto';
import { enqueueAudit, formatDecimal, type Database, type Queryable } from '@graphex/runtime';
import { apiError, assetSpec } from '@graphex/schema';
import {
  canTransitionWithdrawal,
  releasedStatuses,
  withdrawalTransactionId,
  type WithdrawalCurrency,
  type WithdrawalStatus,
} from '../domain/withdrawal.ts';
import { appendStatusHistory } from './chain.ts';

export type CoreIntent = 'HOLD' | 'SETTLE' | 'RELEASE';

export interface WithdrawalRow {
  readonly transactionId: string;
  readonly userId: string;
  readonly currency: WithdrawalCurrency;
  readonly amountBaseUnits: bigint;
  readonly address: string;
  readonly status: WithdrawalStatus;
  readonly txHash: string | null;
  readonly confirmations: number;
  readonly createdAt: Date;
  readonly idempotencyKey: string;
  readonly requestFingerprint: string;
  readonly coreWithdrawalId: number;
  readonly coreIntent: CoreIntent | null;
  readonly coreIntentAfterEventSeq: number | null;
  readonly coreIntentAt: Date | null;
  readonly amlFlags: readonly string[];
  readonly nonce: number | null;
  readonly rawTx: string | null;
  readonly broadcastAttempts: number;
  readonly blockNumber: number | null;
  readonly networkFeeWei: bigint | null;
  readonly failureReason: string | null;
  readonly attentionReason: string | null;
  readonly attentionFrom: WithdrawalStatus | null;
  /** Consecutive errors of the processor's step on it (reset when a step succeeds). */
  readonly stepFailures: number;
}

interface WithdrawalDbRow {
  transaction_id: string;
  user_id: string;
  currency: WithdrawalCurrency;
  amount_base_units: string;
  address: string;
  status: WithdrawalStatus;
  tx_hash: string | null;
  confirmations: number;
  created_at: Date | string;
  idempotency_key: string;
  request_fingerprint: string;
  core_withdrawal_id: string;
  core_intent: CoreIntent | null;
  core_intent_after_event_seq: string | null;
  core_intent_at: Date | string | null;
  aml_flags: string[];
  nonce: string | null;
  raw_tx: string | null;
  broadcast_attempts: number;
  block_number: string | null;
  network_fee_wei: string | null;
  failure_reason: string | null;
  attention_reason: string | null;
  attention_from: WithdrawalStatus | null;
  step_failures: number;
}

const withdrawalSelect = `SELECT w.transaction_id, t.user_id, t.currency, t.amount_base_units::text AS amount_base_units,
  t.address, t.status, t.tx_hash, t.confirmations, t.created_at, w.idempotency_key, w.request_fingerprint,
  w.core_withdrawal_id::text AS core_withdrawal_id, w.core_intent,
  w.core_intent_after_event_seq::text AS core_intent_after_event_seq, w.core_intent_at, w.aml_flags,
  w.nonce::text AS nonce, w.raw_tx, w.broadcast_attempts, w.block_number::text AS block_number,
  w.network_fee_wei::text AS network_fee_wei, w.failure_reason, w.attention_reason, w.attention_from,
  w.step_failures FROM withdrawals w JOIN transactions t ON t.id = w.transaction_id`;

const num = (value: string | null): number | null => (value === null ? null : Number(value));

const toWithdrawal = (row: WithdrawalDbRow): WithdrawalRow => ({
  transactionId: row.transaction_id,
  userId: row.user_id,
  currency: row.currency,
  amountBaseUnits: BigInt(row.amount_base_units),
  address: row.address,
  status: row.status,
  txHash: row.tx_hash,
  confirmations: Number(row.confirmations),
  createdAt: new Date(row.created_at),
  idempotencyKey: row.idempotency_key,
  requestFingerprint: row.request_fingerprint,
  coreWithdrawalId: Number(row.core_withdrawal_id),
  coreIntent: row.core_intent,
  coreIntentAfterEventSeq: num(row.core_intent_after_event_seq),
  coreIntentAt: row.core_intent_at === null ? null : new Date(row.core_intent_at),
  amlFlags: row.aml_flags,
  nonce: num(row.nonce),
  rawTx: row.raw_tx,
  broadcastAttempts: Number(row.broadcast_attempts),
  blockNumber: num(row.block_number),
  networkFeeWei: row.network_fee_wei === null ? null : BigInt(row.network_fee_wei),
  failureReason: row.failure_reason,
  attentionReason: row.attention_reason,
  attentionFrom: row.attention_from,
  stepFailures: Number(row.step_failures),
});

export async function findWithdrawal(db: Queryable, transactionId: string): Promise<WithdrawalRow | null> {
  const result = await db.query<WithdrawalDbRow>(`${withdrawalSelect} WHERE w.transaction_id = $1`, [
    transactionId,
  ]);
  return result.rows[0] ? toWithdrawal(result.rows[0]) : null;
}

export async function findWithdrawalByKey(
  db: Queryable,
  userId: string,
  idempotencyKey: string,
): Promise<WithdrawalRow | null> {
  const result = await db.query<WithdrawalDbRow>(
    `${withdrawalSelect} WHERE w.user_id = $1 AND w.idempotency_key = $2`,
    [userId, idempotencyKey],
  );
  return result.rows[0] ? toWithdrawal(result.rows[0]) : null;
}

export interface RecentWithdrawals {
  /** The user's withdrawals in any currency (not failed/rejected/released). */
  readonly count: number;
  /** Their amount in the asked currency. */
  readonly unitsInCurrency: bigint;
}

/** The user's withdrawals of the last `windowMs` that count against limits and velocity. */
export async function recentWithdrawals(
  db: Queryable,
  userId: string,
  currency: string,
  windowMs: number,
): Promise<RecentWithdrawals> {
  const result = await db.query<{ count: string; units: string }>(
    `SELECT count(*)::text AS count,
            COALESCE(sum(t.amount_base_units) FILTER (WHERE t.currency = $2), 0)::text AS units
     FROM transactions t
     WHERE t.user_id = $1 AND t.type = 'WITHDRAWAL' AND NOT (t.status = ANY($3::text[]))
       AND t.created_at > now() - $4 * interval '1 millisecond'`,
    [userId, currency, [...releasedStatuses], windowMs],
  );
  return { count: Number(result.rows[0]!.count), unitsInCurrency: BigInt(result.rows[0]!.units) };
}

export interface NewWithdrawalRequest {
  readonly userId: string;
  readonly currency: WithdrawalCurrency;
  readonly amountBaseUnits: bigint;
  readonly address: string;
  readonly idempotencyKey: string;
  readonly requestFingerprint: string;
  /** The user's 24h limit in the currency (base units). */
  readonly limitUnits: bigint;
  readonly limitWindowMs: number;
  /** The core's last event seq before the hold is sent (the HOLD intent). */
  readonly afterEventSeq: number;
}

export type RecordRequestOutcome =
  | { readonly kind: 'created'; readonly withdrawal: WithdrawalRow }
  | { readonly kind: 'existing'; readonly withdrawal: WithdrawalRow }
  | { readonly kind: 'limit-exceeded'; readonly usedUnits: bigint };

/**
 * Records a REQUESTED withdrawal with its HOLD intent, after checking the 24h limit again under a
 * per-user lock (two concurrent requests cannot both fit under the limit). A concurrent request
 * with the same idempotency key yields `existing`.
 */
export async function recordWithdrawalRequest(
  db: Database,
  request: NewWithdrawalRequest,
): Promise<RecordRequestOutcome> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`withdrawal:${request.userId}`]);
    const existing = await findWithdrawalByKey(tx, request.userId, request.idempotencyKey);
    if (existing) return { kind: 'existing', withdrawal: existing };
    const used = await recentWithdrawals(tx, request.userId, request.currency, request.limitWindowMs);
    if (used.unitsInCurrency + request.amountBaseUnits > request.limitUnits) {
      return { kind: 'limit-exceeded', usedUnits: used.unitsInCurrency };
    }
    const next = await tx.query<{ id: string }>("SELECT nextval('withdrawal_core_id_seq')::text AS id");
    const coreWithdrawalId = Number(next.rows[0]!.id);
    const transactionId = withdrawalTransactionId(coreWithdrawalId);
    await tx.query(
      `INSERT INTO transactions (id, user_id, type, currency, amount_base_units, status, address)
       VALUES ($1, $2, 'WITHDRAWAL', $3, $4::numeric, 'REQUESTED', $5)`,
      [transactionId, request.userId, request.currency, request.amountBaseUnits.toString(), request.address],
    );
    await tx.query(
      `INSERT INTO withdrawals (transaction_id, user_id, idempotency_key, request_fingerprint, core_withdrawal_id,
         core_intent, core_intent_after_event_seq, core_intent_at)
       VALUES ($1, $2, $3, $4, $5, 'HOLD', $6, now())`,
      [
        transactionId,
        request.userId,
        request.idempotencyKey,
        request.requestFingerprint,
        coreWithdrawalId,
        request.afterEventSeq,
      ],
    );
    const position = await appendStatusHistory(tx, transactionId, 'REQUESTED', null, 0);
    await enqueueAudit(tx, `withdrawal:${transactionId}:${position}`, {
      occurredAt: new Date(),
      actor: auditUserId(request.userId) ?? 'unknown-user',
      actorRole: 'USER',
      action: 'WITHDRAWAL_REQUESTED',
      requestId: `withdrawal:${transactionId}`,
      targetUserId: auditUserId(request.userId),
      details: {
        transactionId,
        currency: request.currency,
        amount: formatDecimal(request.amountBaseUnits, assetSpec(request.currency)!.decimals),
        address: request.address,
        idempotencyKey: request.idempotencyKey,
      },
    });
    return { kind: 'created', withdrawal: (await findWithdrawal(tx, transactionId))! };
  });
}

/**
 * Forgets a request the core refused to hold (insufficient funds): a refusal changes nothing, and
 * the same idempotency key may be used again. Only a REQUESTED row whose hold was refused. Its
 * WITHDRAWAL_REQUESTED audit record is already queued, so the outcome (WITHDRAWAL_REFUSED with the
 * API code the core's answer maps to) is queued in the same DB transaction as the delete.
 */
export async function forgetRefusedRequest(db: Database, transactionId: string, code: string): Promise<void> {
  await db.transaction(async (tx) => {
    const removed = await tx.query<{ user_id: string; currency: string; amount_base_units: string }>(
      `DELETE FROM withdrawals w USING transactions t
       WHERE w.transaction_id = $1 AND t.id = w.transaction_id AND t.status = 'REQUESTED'
       RETURNING w.transaction_id, t.user_id, t.currency, t.amount_base_units::text AS amount_base_units`,
      [transactionId],
    );
    const row = removed.rows[0];
    if (removed.rows.length !== 1 || !row)
      throw new Error(`Withdrawal ${transactionId} is not a refused request`);
    await tx.query('DELETE FROM transaction_status_history WHERE transaction_id = $1', [transactionId]);
    await tx.query('DELETE FROM transactions WHERE id = $1', [transactionId]);
    await enqueueAudit(tx, `withdrawal:${transactionId}:refused`, {
      occurredAt: new Date(),
      actor: 'service:wallets',
      actorRole: 'SERVICE',
      action: 'WITHDRAWAL_REFUSED',
      requestId: `withdrawal:${transactionId}`,
      targetUserId: auditUserId(row.user_id),
      details: {
        transactionId,
        currency: row.currency,
        amount: formatDecimal(BigInt(row.amount_base_units), assetSpec(row.currency)!.decimals),
        code,
      },
    });
  });
}

/** Columns of `withdrawals` a transition may set. */
export interface WithdrawalChanges {
  readonly coreIntent?: CoreIntent | null;
  readonly coreIntentAfterEventSeq?: number | null;
  readonly holdEventSeq?: number;
  readonly settleEventSeq?: number;
  readonly releaseEventSeq?: number;
  readonly amlFlags?: readonly string[];
  readonly reviewDecision?: 'APPROVE' | 'REJECT';
  readonly reviewedBy?: string;
  readonly reviewReason?: string;
  readonly nonce?: number | null;
  readonly rawTx?: string | null;
  readonly broadcastAttempts?: number;
  readonly blockNumber?: number | null;
  readonly blockHash?: string | null;
  readonly networkFeeWei?: bigint | null;
  readonly failureReason?: string;
  readonly attentionReason?: string | null;
  readonly attentionFrom?: WithdrawalStatus | null;
  readonly stepFailures?: number;
  /** On the Transaction row. */
  readonly txHash?: string;
  readonly confirmations?: number;
}

const columnOf: Record<Exclude<keyof WithdrawalChanges, 'txHash' | 'confirmations'>, string> = {
  coreIntent: 'core_intent',
  coreIntentAfterEventSeq: 'core_intent_after_event_seq',
  holdEventSeq: 'hold_event_seq',
  settleEventSeq: 'settle_event_seq',
  releaseEventSeq: 'release_event_seq',
  amlFlags: 'aml_flags',
  reviewDecision: 'review_decision',
  reviewedBy: 'reviewed_by',
  reviewReason: 'review_reason',
  nonce: 'nonce',
  rawTx: 'raw_tx',
  broadcastAttempts: 'broadcast_attempts',
  blockNumber: 'block_number',
  blockHash: 'block_hash',
  networkFeeWei: 'network_fee_wei',
  failureReason: 'failure_reason',
  attentionReason: 'attention_reason',
  attentionFrom: 'attention_from',
  stepFailures: 'step_failures',
};

/** Thrown when the stored state does not allow the transition (INVALID_STATE_TRANSITION). */
export class IllegalWithdrawalTransition extends Error {
  override name = 'IllegalWithdrawalTransition';
  readonly current: WithdrawalStatus | null;
  constructor(transactionId: string, current: WithdrawalStatus | null, to: WithdrawalStatus | null) {
    super(
      current === null
        ? `Withdrawal ${transactionId} does not exist`
        : `Withdrawal ${transactionId} is ${current}; it cannot go to ${to ?? 'that state'}`,
    );
    this.current = current;
  }
}

async function setColumns(tx: Queryable, transactionId: string, changes: WithdrawalChanges): Promise<void> {
  const assignments: string[] = [];
  const values: unknown[] = [transactionId];
  for (const [key, column] of Object.entries(columnOf) as Array<[keyof typeof columnOf, string]>) {
    if (!(key in changes)) continue;
    const value = changes[key];
    values.push(typeof value === 'bigint' ? value.toString() : value === undefined ? null : value);
    assignments.push(`${column} = $${values.length}`);
  }
  if (changes.coreIntent !== undefined)
    assignments.push(`core_intent_at = ${changes.coreIntent ? 'now()' : 'NULL'}`);
  if (assignments.length > 0) {
    await tx.query(`UPDATE withdrawals SET ${assignments.join(', ')} WHERE transaction_id = $1`, values);
  }
  const transactionSets: string[] = [];
  const transactionValues: unknown[] = [transactionId];
  if (changes.txHash !== undefined) {
    transactionValues.push(changes.txHash);
    transactionSets.push(`tx_hash = $${transactionValues.length}`);
  }
  if (changes.confirmations !== undefined) {
    transactionValues.push(changes.confirmations);
    transactionSets.push(`confirmations = $${transactionValues.length}`);
  }
  if (transactionSets.length > 0) {
    await tx.query(
      `UPDATE transactions SET ${transactionSets.join(', ')}, updated_at = now() WHERE id = $1`,
      transactionValues,
    );
  }
}

export interface Transition {
  /** The states the caller expects the withdrawal in (a subset of what may go to `to`). */
  readonly from: readonly WithdrawalStatus[];
  readonly to: WithdrawalStatus;
  readonly changes?: WithdrawalChanges;
  readonly blockNumber?: number | null;
  /** Who decided (an operator's user id); the service itself when absent. */
  readonly actor?: { readonly userId: string; readonly role: string };
  readonly reason?: string;
}

/**
 * Applies transitions in order to one withdrawal inside `tx` (locking its row first). Each one is
 * checked against the stored state and the state machine; history entries are appended in order.
 * Throws IllegalWithdrawalTransition (nothing is written: the caller's DB transaction rolls back).
 */
export async function applyTransitions(
  tx: Queryable,
  transactionId: string,
  transitions: readonly Transition[],
): Promise<WithdrawalRow> {
  const locked = await tx.query<{
    status: WithdrawalStatus;
    confirmations: number;
    user_id: string;
    currency: string;
    amount_base_units: string;
  }>(
    `SELECT t.status, t.confirmations, t.user_id, t.currency, t.amount_base_units::text AS amount_base_units
     FROM transactions t JOIN withdrawals w ON w.transaction_id = t.id
     WHERE t.id = $1 FOR UPDATE`,
    [transactionId],
  );
  if (!locked.rows[0]) throw new IllegalWithdrawalTransition(transactionId, null, transitions[0]?.to ?? null);
  let status = locked.rows[0].status;
  for (const transition of transitions) {
    if (!transition.from.includes(status) || !canTransitionWithdrawal(status, transition.to)) {
      throw new IllegalWithdrawalTransition(transactionId, status, transition.to);
    }
    await setColumns(tx, transactionId, transition.changes ?? {});
    await tx.query('UPDATE transactions SET status = $2, updated_at = now() WHERE id = $1', [
      transactionId,
      transition.to,
    ]);
    const confirmations = transition.changes?.confirmations ?? Number(locked.rows[0].confirmations);
    const position = await appendStatusHistory(
      tx,
      transactionId,
      transition.to,
      transition.blockNumber ?? null,
      confirmations,
    );
    const reason = transition.reason?.slice(0, 500) ?? null;
    if (transition.actor !== undefined || reason !== null) {
      await tx.query(
        'UPDATE transaction_status_history SET actor = $3, reason = $4 WHERE transaction_id = $1 AND position = $2',
        [transactionId, position, transition.actor?.userId ?? null, reason],
      );
    }
    const { user_id: userId, currency, amount_base_units: amount } = locked.rows[0];
    // Rule 7: every transition audited, in the same DB transaction as the transition.
    await enqueueAudit(tx, `withdrawal:${transactionId}:${position}`, {
      occurredAt: new Date(),
      actor: transition.actor?.userId ?? 'service:wallets',
      actorRole: transition.actor?.role ?? 'SERVICE',
      action: `WITHDRAWAL_${transition.to}`,
      requestId: `withdrawal:${transactionId}`,
      targetUserId: auditUserId(userId),
      details: {
        transactionId,
        currency,
        amount: formatDecimal(BigInt(amount), assetSpec(currency)!.decimals),
        from: status,
        to: transition.to,
        ...(reason !== null ? { reason } : {}),
        ...(transition.changes?.txHash ? { txHash: transition.changes.txHash } : {}),
      },
    });
    status = transition.to;
  }
  return (await findWithdrawal(tx, transactionId))!;
}

/** Changes columns without a state change (e.g. a broadcast attempt counted), checking the state. */
export async function updateWithdrawal(
  tx: Queryable,
  transactionId: string,
  expected: readonly WithdrawalStatus[],
  changes: WithdrawalChanges,
): Promise<WithdrawalRow> {
  const locked = await tx.query<{ status: WithdrawalStatus }>(
    'SELECT status FROM transactions WHERE id = $1 FOR UPDATE',
    [transactionId],
  );
  const status = locked.rows[0]?.status ?? null;
  if (status === null || !expected.includes(status)) {
    throw new IllegalWithdrawalTransition(transactionId, status, null);
  }
  await setColumns(tx, transactionId, changes);
  return (await findWithdrawal(tx, transactionId))!;
}

/**
 * Counts one more consecutive error of the processor's step on a withdrawal. At `maxFailures` the
 * withdrawal goes to NEEDS_ATTENTION from the state it is in now (an operator's retry returns it
 * there), with `error` as its attention reason; the counter starts again from 0.
 */
export async function recordStepFailure(
  db: Database,
  transactionId: string,
  maxFailures: number,
  error: string,
): Promise<WithdrawalRow | null> {
  return db.transaction(async (tx) => {
    const counted = await tx.query<{ step_failures: number; status: WithdrawalStatus }>(
      `UPDATE withdrawals w SET step_failures = w.step_failures + 1 FROM transactions t
       WHERE w.transaction_id = $1 AND t.id = w.transaction_id RETURNING w.step_failures, t.status`,
      [transactionId],
    );
    const row = counted.rows[0];
    if (!row) return null;
    const failures = Number(row.step_failures);
    if (failures < maxFailures || !canTransitionWithdrawal(row.status, 'NEEDS_ATTENTION')) {
      return findWithdrawal(tx, transactionId);
    }
    const reason = `${error.slice(0, 400)} (failed ${failures} times in a row)`;
    return applyTransitions(tx, transactionId, [
      {
        from: [row.status],
        to: 'NEEDS_ATTENTION',
        changes: { attentionReason: reason, attentionFrom: row.status, stepFailures: 0 },
        reason,
      },
    ]);
  });
}

/** A step on the withdrawal succeeded: its count of consecutive errors starts again. */
export async function clearStepFailures(db: Queryable, transactionId: string): Promise<void> {
  await db.query('UPDATE withdrawals SET step_failures = 0 WHERE transaction_id = $1 AND step_failures > 0', [
    transactionId,
  ]);
}

/** Withdrawals in one of `statuses`, oldest first (nonce order for the signed ones). */
export async function withdrawalsInStatus(
  db: Queryable,
  statuses: readonly WithdrawalStatus[],
  limit: number,
): Promise<WithdrawalRow[]> {
  const result = await db.query<WithdrawalDbRow>(
    `${withdrawalSelect} WHERE t.status = ANY($1::text[])
     ORDER BY w.nonce NULLS LAST, w.core_withdrawal_id LIMIT $2`,
    [statuses, limit],
  );
  return result.rows.map(toWithdrawal);
}

/**
 * Withdrawals with a core command possibly in flight, whose intent is older than `olderThanMs`
 * (not those parked in NEEDS_ATTENTION: an operator's retry puts them back first).
 */
export async function withdrawalsWithIntent(
  db: Queryable,
  olderThanMs: number,
  limit: number,
): Promise<WithdrawalRow[]> {
  const result = await db.query<WithdrawalDbRow>(
    `${withdrawalSelect} WHERE w.core_intent IS NOT NULL AND t.status <> 'NEEDS_ATTENTION'
       AND w.core_intent_at <= now() - $1 * interval '1 millisecond'
     ORDER BY w.core_withdrawal_id LIMIT $2`,
    [olderThanMs, limit],
  );
  return result.rows.map(toWithdrawal);
}

/** Records a core command intent (SETTLE / RELEASE) on a withdrawal in `expected`. */
export async function markIntent(
  db: Queryable,
  transactionId: string,
  expected: WithdrawalStatus,
  intent: CoreIntent,
  afterEventSeq: number,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE withdrawals w SET core_intent = $3, core_intent_after_event_seq = $4, core_intent_at = now()
     FROM transactions t WHERE w.transaction_id = $1 AND t.id = w.transaction_id AND t.status = $2
       AND (w.core_intent IS NULL OR w.core_intent = $3)
     RETURNING w.transaction_id`,
    [transactionId, expected, intent, afterEventSeq],
  );
  return result.rows.length === 1;
}

/** Operator listing: withdrawals in `statuses` (all when empty), newest first, after `afterId`. */
export async function listWithdrawals(
  db: Queryable,
  statuses: readonly string[],
  limit: number,
  afterId: string | null,
): Promise<WithdrawalRow[] | null> {
  const filter = statuses.length > 0 ? 'AND t.status = ANY($1::text[])' : 'AND $1::text[] IS NOT NULL';
  if (afterId !== null) {
    const anchor = await db.query('SELECT 1 FROM withdrawals WHERE transaction_id = $1', [afterId]);
    if (anchor.rows.length === 0) return null;
  }
  const result = await db.query<WithdrawalDbRow>(
    `${withdrawalSelect} WHERE true ${filter}
       AND ($2::text IS NULL OR (t.created_at, t.id) < (SELECT a.created_at, a.id FROM transactions a WHERE a.id = $2))
     ORDER BY t.created_at DESC, t.id DESC LIMIT $3`,
    [statuses, afterId, limit],
  );
  return result.rows.map(toWithdrawal);
}

// ---------------------------------------------------------------------------------------------
// Hot wallet nonce

/**
 * Makes sure the hot wallet row exists and its next nonce is at least the node's pending count
 * (someone else may have sent from the key). Refuses to run with a different hot wallet address
 * than the one the stored nonces belong to.
 */
export async function reconcileHotWalletNonce(
  db: Database,
  address: string,
  nodePendingNonce: number,
): Promise<number> {
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ address: string; next_nonce: string }>(
      "SELECT address, next_nonce::text AS next_nonce FROM hot_wallet WHERE chain = 'ethereum' FOR UPDATE",
    );
    const row = existing.rows[0];
    if (row && row.address.toLowerCase() !== address.toLowerCase()) {
      const pending = await tx.query(
        `SELECT 1 FROM transactions WHERE type = 'WITHDRAWAL' AND status = ANY($1::text[]) LIMIT 1`,
        [['SIGNED', 'BROADCAST', 'MINED', 'NEEDS_ATTENTION']],
      );
      if (pending.rows.length > 0) {
        throw new Error(
          `The hot wallet changed from ${row.address} to ${address} while withdrawals signed by the old key are in flight`,
        );
      }
    }
    const next = Math.max(
      nodePendingNonce,
      row && row.address.toLowerCase() === address.toLowerCase() ? Number(row.next_nonce) : 0,
    );
    await tx.query(
      `INSERT INTO hot_wallet (chain, address, next_nonce) VALUES ('ethereum', $1, $2)
       ON CONFLICT (chain) DO UPDATE SET address = EXCLUDED.address, next_nonce = EXCLUDED.next_nonce`,
      [address, next],
    );
    return next;
  });
}

/** Takes the next nonce inside `tx` (the row is locked until the caller commits). */
export async function takeNonce(tx: Queryable): Promise<number> {
  const result = await tx.query<{ nonce: string }>(
    `UPDATE hot_wallet SET next_nonce = next_nonce + 1 WHERE chain = 'ethereum' RETURNING (next_nonce - 1)::text AS nonce`,
  );
  if (!result.rows[0]) throw new Error('The hot wallet nonce is not initialised');
  return Number(result.rows[0].nonce);
}

/**
 * Gives `nonce` back after the node refused its transaction for good: only when it is the last one
 * taken (the processor signs one transaction at a time, so it is), else a gap would block later ones.
 */
export async function returnNonce(tx: Queryable, nonce: number): Promise<boolean> {
  const result = await tx.query(
    `UPDATE hot_wallet SET next_nonce = $1 WHERE chain = 'ethereum' AND next_nonce = $1 + 1 RETURNING chain`,
    [nonce],
  );
  return result.rows.length === 1;
}

export async function hotWalletNextNonce(db: Queryable): Promise<number | null> {
  const result = await db.query<{ next_nonce: string }>(
    "SELECT next_nonce::text AS next_nonce FROM hot_wallet WHERE chain = 'ethereum'",
  );
  return result.rows[0] ? Number(result.rows[0].next_nonce) : null;
}

// ---------------------------------------------------------------------------------------------
// Allowlist

export async function allowlistOf(db: Queryable, userId: string): Promise<string[]> {
  const result = await db.query<{ address: string }>(
    'SELECT address FROM withdrawal_allowlist WHERE user_id = $1 ORDER BY created_at, address LIMIT 1000',
    [userId],
  );
  return result.rows.map((row) => row.address);
}

export const maxAllowlistEntries = 100;

/** The allowlist change, audited in the same DB transaction (a changed allowlist moves money). */
async function auditAllowlist(
  tx: Queryable,
  userId: string,
  address: string,
  action: 'WITHDRAWAL_ADDRESS_ADDED' | 'WITHDRAWAL_ADDRESS_REMOVED',
): Promise<void> {
  // Each change is its own event (an address can be added, removed and added again).
  await enqueueAudit(tx, `allowlist:${randomUUID()}`, {
    occurredAt: new Date(),
    actor: auditUserId(userId) ?? 'unknown-user',
    actorRole: 'USER',
    action,
    requestId: `allowlist:${userId}`,
    targetUserId: auditUserId(userId),
    details: { address },
  });
}

export async function addToAllowlist(db: Database, userId: string, address: string): Promise<void> {
  await db.transaction(async (tx) => {
    const count = await tx.query<{ count: string }>(
      'SELECT count(*)::text AS count FROM withdrawal_allowlist WHERE user_id = $1',
      [userId],
    );
    if (Number(count.rows[0]!.count) >= maxAllowlistEntries) {
      throw apiError('LIMIT_EXCEEDED', `At most ${maxAllowlistEntries} allowlisted withdrawal addresses.`);
    }
    const inserted = await tx.query(
      'INSERT INTO withdrawal_allowlist (user_id, address) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING address',
      [userId, address.toLowerCase()],
    );
    if (inserted.rows.length === 1) {
      await auditAllowlist(tx, userId, address.toLowerCase(), 'WITHDRAWAL_ADDRESS_ADDED');
    }
  });
}

export async function removeFromAllowlist(db: Database, userId: string, address: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const result = await tx.query(
      'DELETE FROM withdrawal_allowlist WHERE user_id = $1 AND address = $2 RETURNING address',
      [userId, address.toLowerCase()],
    );
    if (result.rows.length !== 1) return false;
    await auditAllowlist(tx, userId, address.toLowerCase(), 'WITHDRAWAL_ADDRESS_REMOVED');
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Processor lease

/** Takes or renews the processor lease for `owner`; true when `owner` holds it now. */
export async function acquireProcessorLease(db: Queryable, owner: string, ttlMs: number): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO withdrawal_processor_lease (name, owner, expires_at) VALUES ('ethereum', $1, now() + $2 * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
     WHERE withdrawal_processor_lease.owner = EXCLUDED.owner OR withdrawal_processor_lease.expires_at < now()
     RETURNING owner`,
    [owner, ttlMs],
  );
  return result.rows.length === 1;
}

/** True while `owner` holds the lease with at least `minRemainingMs` left. */
export async function holdsProcessorLease(
  db: Queryable,
  owner: string,
  minRemainingMs: number,
): Promise<boolean> {
  const result = await db.query(
    `SELECT 1 FROM withdrawal_processor_lease WHERE name = 'ethereum' AND owner = $1
       AND expires_at > now() + $2 * interval '1 millisecond'`,
    [owner, minRemainingMs],
  );
  return result.rows.length === 1;
}

export async function releaseProcessorLease(db: Queryable, owner: string): Promise<void> {
  await db.query(`DELETE FROM withdrawal_processor_lease WHERE name = 'ethereum' AND owner = $1`, [owner]);
}

/** Audit entries name their user by UUID; any other id (never issued by identity) is left out. */
function auditUserId(userId: string): string | null {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(userId) ? userId : null;
}
