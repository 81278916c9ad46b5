/**
 * An admin balance adjustment: validated input for the core's AdminAdjust command. The core owns
 * the user's available balance; the journal books the adjustment from the core's FundsMoved
 * ADMIN_ADJUST event like every other money movement (`core-journal.ts`). Validation is complete
 * here, so bad input never reaches the core or the database.
 */
import { formatDecimal, parseDecimal, type AuditOutboxRecord } from '@graphex/runtime';
import { referenceAssets } from '@graphex/schema';
import { isUserId } from './accounts.ts';

export const maxReasonLength = 500;

export interface AdminAdjustmentInput {
  readonly userId: string;
  readonly currency: string;
  /** Signed decimal string: "1.5" credits, "-1.5" debits. */
  readonly amount: string;
  readonly reason: string;
  /** Optional: a retry with the same key (same admin) answers the first request. */
  readonly idempotencyKey?: string | null | undefined;
}

export interface AdminAdjustment {
  readonly userId: string;
  readonly currency: string;
  readonly decimals: number;
  /** Signed, in base units. Never zero. */
  readonly amountUnits: bigint;
  /** Trimmed reason. */
  readonly reason: string;
}

export type AdminAdjustmentPlan =
  | { readonly ok: true; readonly adjustment: AdminAdjustment }
  | {
      readonly ok: false;
      readonly field: 'userId' | 'currency' | 'amount' | 'reason';
      readonly message: string;
    };

export function planAdminAdjustment(input: AdminAdjustmentInput): AdminAdjustmentPlan {
  const userId = input.userId.toLowerCase();
  if (!isUserId(userId)) return { ok: false, field: 'userId', message: 'userId is not a user id.' };
  const asset = referenceAssets.find((candidate) => candidate.symbol === input.currency);
  if (!asset) return { ok: false, field: 'currency', message: `Unknown currency "${input.currency}".` };
  let amountUnits: bigint;
  try {
    amountUnits = parseDecimal(input.amount, asset.decimals, 'amount');
  } catch (error) {
    return { ok: false, field: 'amount', message: (error as Error).message };
  }
  if (amountUnits === 0n) return { ok: false, field: 'amount', message: 'amount must not be zero.' };
  const reason = input.reason.trim();
  if (reason.length === 0) return { ok: false, field: 'reason', message: 'reason is required.' };
  if (reason.length > maxReasonLength) {
    return { ok: false, field: 'reason', message: `reason must be at most ${maxReasonLength} characters.` };
  }

  return {
    ok: true,
    adjustment: { userId, currency: asset.symbol, decimals: asset.decimals, amountUnits, reason },
  };
}

/** Longest `idempotencyKey` (the same rule as withdrawals'). */
export const maxIdempotencyKeyLength = 100;

/** A reason the key cannot be used, or null when it is 1…100 printable ASCII characters. */
export function idempotencyKeyProblem(key: string): string | null {
  return /^[\x21-\x7e]+$/.test(key) && key.length <= maxIdempotencyKeyLength
    ? null
    : `idempotencyKey must be 1..${maxIdempotencyKeyLength} printable ASCII characters.`;
}

/**
 * An adjustment as recorded BEFORE it is sent to the core (`admin_adjustment_intents`). The core's
 * AdminAdjust carries no reference of ours, so who asked and why is kept here, and the journal
 * projection joins it to the FundsMoved event it books and writes the audit record in the same
 * transaction as the journal: an applied adjustment can no longer lose its audit record.
 */
export interface AdjustmentIntent {
  /** Insertion order; breaks ties between otherwise identical intents. */
  readonly ordinal: number;
  readonly adjustmentId: string;
  readonly actorUserId: string;
  readonly actorRole: string;
  readonly actorSessionId: string | null;
  readonly requestId: string;
  readonly idempotencyKey: string | null;
  readonly userId: string;
  readonly currency: string;
  readonly assetId: number;
  readonly amountUnits: bigint;
  readonly reason: string;
  /** The core's lastEventSeq read just before the command was submitted. */
  readonly afterEventSeq: number;
  readonly requestedAt: Date;
  /** The FundsMoved event it was matched to; null until the projection books that event. */
  readonly eventSeq: number | null;
}

/** The fields of a FundsMoved ADMIN_ADJUST event that matching needs. */
export interface AdjustmentEvent {
  readonly eventSeq: number;
  readonly userId: string;
  readonly assetId: number;
  readonly amountUnits: bigint;
}

/**
 * Which intent each ADMIN_ADJUST event (in eventSeq order) books, or null when none is recorded
 * (an adjustment made before intents existed). Deterministic: an intent already matched to the
 * event (a replay) wins; otherwise the oldest unmatched intent for the same user, asset and signed
 * amount that was recorded before the event (afterEventSeq < eventSeq), by (afterEventSeq, ordinal).
 * Each intent books at most one event.
 */
export function matchAdjustmentIntents(
  events: readonly AdjustmentEvent[],
  intents: readonly AdjustmentIntent[],
): Map<number, AdjustmentIntent | null> {
  const claimed = new Set<string>();
  const matches = new Map<number, AdjustmentIntent | null>();
  const oldestFirst = [...intents].sort((a, b) => a.afterEventSeq - b.afterEventSeq || a.ordinal - b.ordinal);
  for (const event of events) {
    const match =
      oldestFirst.find((intent) => intent.eventSeq === event.eventSeq) ??
      oldestFirst.find(
        (intent) =>
          intent.eventSeq === null &&
          !claimed.has(intent.adjustmentId) &&
          intent.userId === event.userId &&
          intent.assetId === event.assetId &&
          intent.amountUnits === event.amountUnits &&
          intent.afterEventSeq < event.eventSeq,
      ) ??
      null;
    if (match) claimed.add(match.adjustmentId);
    matches.set(event.eventSeq, match);
  }
  return matches;
}

/** Outbox key of the BALANCE_ADJUSTED record of the adjustment booked at `eventSeq`. */
export function adjustmentAuditKey(eventSeq: number): string {
  return `adjustment:${eventSeq}`;
}

/**
 * The BALANCE_ADJUSTED audit record of a booked adjustment: who asked and why from its intent, or,
 * without one, what the event says (actor `system`, reason unknown).
 */
export function adjustmentAuditRecord(
  event: AdjustmentEvent & { readonly timeMs: number },
  currency: string,
  decimals: number,
  intent: AdjustmentIntent | null,
): AuditOutboxRecord {
  const amount = formatDecimal(event.amountUnits, decimals);
  const eventSeq = String(event.eventSeq);
  return {
    sourceKey: adjustmentAuditKey(event.eventSeq),
    event: intent
      ? {
          occurredAt: intent.requestedAt,
          actor: intent.actorUserId,
          actorRole: intent.actorRole,
          action: 'BALANCE_ADJUSTED',
          requestId: intent.requestId,
          targetUserId: event.userId,
          details: {
            currency,
            amount,
            reason: intent.reason,
            eventSeq,
            adjustmentId: intent.adjustmentId,
            ...(intent.actorSessionId ? { actorSessionId: intent.actorSessionId } : {}),
          },
        }
      : {
          occurredAt: new Date(event.timeMs),
          actor: 'system',
          actorRole: 'SYSTEM',
          action: 'BALANCE_ADJUSTED',
          requestId: `core:${eventSeq}`,
          targetUserId: event.userId,
          details: { currency, amount, reason: 'unknown (no adjustment intent was recorded)', eventSeq },
        },
  };
}
