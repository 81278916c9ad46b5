/**
 * Admin adjustment intents in the database (`admin_adjustment_intents`, migration 005): written by
 * `adminAdjustBalance` before it submits to the core, matched to the core's FundsMoved
 * ADMIN_ADJUST events by the journal projection, which audits them in its batch transaction.
 */
import type { Queryable } from '@graphex/runtime';
import type { AdjustmentEvent, AdjustmentIntent } from '../domain/admin-adjustment.ts';

interface IntentRow {
  adjustment_id: string;
  ordinal: string | number;
  actor_user_id: string;
  actor_role: string;
  actor_session_id: string | null;
  request_id: string;
  idempotency_key: string | null;
  target_user_id: string;
  currency: string;
  asset_id: number;
  amount: string;
  reason: string;
  after_event_seq: string | number;
  requested_at: Date | string;
  event_seq: string | number | null;
  answer_available: string | null;
  answer_locked: string | null;
}

const intentColumns = `adjustment_id, ordinal, actor_user_id, actor_role, actor_session_id, request_id,
  idempotency_key, target_user_id, currency, asset_id, amount::text AS amount, reason, after_event_seq,
  requested_at, event_seq, answer_available::text AS answer_available, answer_locked::text AS answer_locked`;

/** A stored intent and, once the mutation heard the core, the balance it answered. */
export interface StoredIntent extends AdjustmentIntent {
  readonly answer: { readonly availableUnits: bigint; readonly lockedUnits: bigint } | null;
}

function intentOf(row: IntentRow): StoredIntent {
  return {
    adjustmentId: row.adjustment_id,
    ordinal: Number(row.ordinal),
    actorUserId: row.actor_user_id,
    actorRole: row.actor_role,
    actorSessionId: row.actor_session_id,
    requestId: row.request_id,
    idempotencyKey: row.idempotency_key,
    userId: row.target_user_id,
    currency: row.currency,
    assetId: Number(row.asset_id),
    amountUnits: BigInt(row.amount),
    reason: row.reason,
    afterEventSeq: Number(row.after_event_seq),
    requestedAt: row.requested_at instanceof Date ? row.requested_at : new Date(row.requested_at),
    eventSeq: row.event_seq === null ? null : Number(row.event_seq),
    answer:
      row.answer_available === null || row.answer_locked === null
        ? null
        : { availableUnits: BigInt(row.answer_available), lockedUnits: BigInt(row.answer_locked) },
  };
}

export type NewIntent = Omit<AdjustmentIntent, 'ordinal' | 'eventSeq'>;

/**
 * Records an intent. With an idempotency key already used by the same actor nothing is written
 * and the existing intent is returned instead.
 */
export async function recordAdjustmentIntent(
  db: Queryable,
  intent: NewIntent,
): Promise<{ readonly kind: 'recorded' } | { readonly kind: 'existing'; readonly intent: StoredIntent }> {
  const inserted = await db.query(
    `INSERT INTO admin_adjustment_intents (adjustment_id, actor_user_id, actor_role, actor_session_id,
       request_id, idempotency_key, target_user_id, currency, asset_id, amount, reason, after_event_seq,
       requested_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (actor_user_id, idempotency_key) DO NOTHING
     RETURNING 1`,
    [
      intent.adjustmentId,
      intent.actorUserId,
      intent.actorRole,
      intent.actorSessionId,
      intent.requestId,
      intent.idempotencyKey,
      intent.userId,
      intent.currency,
      intent.assetId,
      intent.amountUnits.toString(),
      intent.reason,
      intent.afterEventSeq,
      intent.requestedAt.toISOString(),
    ],
  );
  if (inserted.rows.length === 1) return { kind: 'recorded' };
  const existing = await findIntentByKey(db, intent.actorUserId, intent.idempotencyKey!);
  if (!existing) throw new Error('An idempotency-key conflict without a stored intent.');
  return { kind: 'existing', intent: existing };
}

export async function findIntentByKey(
  db: Queryable,
  actorUserId: string,
  idempotencyKey: string,
): Promise<StoredIntent | null> {
  const result = await db.query<IntentRow>(
    `SELECT ${intentColumns} FROM admin_adjustment_intents WHERE actor_user_id = $1 AND idempotency_key = $2`,
    [actorUserId, idempotencyKey],
  );
  return result.rows[0] ? intentOf(result.rows[0]) : null;
}

/** Keeps the balance the core reported, so a retry with the same key answers the same. */
export async function recordIntentAnswer(
  db: Queryable,
  adjustmentId: string,
  availableUnits: bigint,
  lockedUnits: bigint,
): Promise<void> {
  await db.query(
    'UPDATE admin_adjustment_intents SET answer_available = $2, answer_locked = $3 WHERE adjustment_id = $1',
    [adjustmentId, availableUnits.toString(), lockedUnits.toString()],
  );
}

/**
 * Forgets an intent the core refused (it changed nothing, and must not be matched to a later
 * identical adjustment); a retry with its key tries again.
 */
export async function forgetRefusedIntent(db: Queryable, adjustmentId: string): Promise<void> {
  await db.query('DELETE FROM admin_adjustment_intents WHERE adjustment_id = $1 AND event_seq IS NULL', [
    adjustmentId,
  ]);
}

/**
 * Every intent the batch's ADMIN_ADJUST events could book (already matched to one of them, or
 * unmatched for the same user, asset and amount), locked for the projection's transaction.
 */
export async function lockCandidateIntents(
  tx: Queryable,
  events: readonly AdjustmentEvent[],
): Promise<StoredIntent[]> {
  if (events.length === 0) return [];
  const result = await tx.query<IntentRow>(
    `SELECT ${intentColumns} FROM admin_adjustment_intents
     WHERE event_seq = ANY($1::bigint[])
        OR (event_seq IS NULL AND (target_user_id, asset_id, amount) IN (
          SELECT r.user_id, r.asset_id, r.amount FROM jsonb_to_recordset($2::jsonb) AS r(user_id text, asset_id integer, amount numeric)))
     ORDER BY ordinal FOR UPDATE`,
    [
      events.map((event) => event.eventSeq),
      JSON.stringify(
        events.map((event) => ({
          user_id: event.userId,
          asset_id: event.assetId,
          amount: event.amountUnits.toString(),
        })),
      ),
    ],
  );
  return result.rows.map(intentOf);
}

/** Records which event each intent booked (one statement). */
export async function markIntentsBooked(
  tx: Queryable,
  booked: ReadonlyArray<{ readonly adjustmentId: string; readonly eventSeq: number }>,
): Promise<void> {
  if (booked.length === 0) return;
  const result = await tx.query(
    `UPDATE admin_adjustment_intents i SET event_seq = r.event_seq
     FROM jsonb_to_recordset($1::jsonb) AS r(adjustment_id uuid, event_seq bigint)
     WHERE i.adjustment_id = r.adjustment_id AND (i.event_seq IS NULL OR i.event_seq = r.event_seq)
     RETURNING 1`,
    [JSON.stringify(booked.map((b) => ({ adjustment_id: b.adjustmentId, event_seq: b.eventSeq })))],
  );
  if (result.rows.length !== booked.length)
    throw new Error('An adjustment intent was booked by another event meanwhile.');
}
