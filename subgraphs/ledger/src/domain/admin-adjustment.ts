/**
 * An admin balance adjustment: validated input for the core's AdminAdjust command, and the journal
 * transaction that records it. The core owns the user's available balance; the journal books a
 * credit (positive amount) as ADMIN_ADJUSTMENTS → CORE_USER_BALANCES and a debit the other way.
 * Validation is complete here, so bad input never reaches the core or the database.
 */
import { parseDecimal } from '@graphex/runtime';
import { isUserId, ledgerAsset, type LedgerAccountRef } from './accounts.ts';
import type { JournalTransaction } from './journal.ts';

export const maxReasonLength = 500;

export interface AdminAdjustmentInput {
  readonly userId: string;
  readonly currency: string;
  /** Signed decimal string: "1.5" credits, "-1.5" debits. */
  readonly amount: string;
  readonly reason: string;
}

export interface AdminAdjustment {
  readonly userId: string;
  readonly currency: string;
  readonly decimals: number;
  /** Signed, in base units. Never zero. */
  readonly amountUnits: bigint;
  /** Trimmed reason. */
  readonly reason: string;
  readonly transaction: JournalTransaction;
}

export type AdminAdjustmentPlan =
  | { readonly ok: true; readonly adjustment: AdminAdjustment }
  | {
      readonly ok: false;
      readonly field: 'userId' | 'currency' | 'amount' | 'reason';
      readonly message: string;
    };

export function planAdminAdjustment(
  input: AdminAdjustmentInput,
  context: { readonly transactionId: string; readonly occurredAt: Date },
): AdminAdjustmentPlan {
  const userId = input.userId.toLowerCase();
  if (!isUserId(userId)) return { ok: false, field: 'userId', message: 'userId is not a user id.' };
  const asset = ledgerAsset(input.currency);
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

  const user: LedgerAccountRef = { kind: 'system', name: 'CORE_USER_BALANCES', currency: asset.symbol };
  const system: LedgerAccountRef = { kind: 'system', name: 'ADMIN_ADJUSTMENTS', currency: asset.symbol };
  const magnitude = amountUnits < 0n ? -amountUnits : amountUnits;
  const [debited, credited] = amountUnits > 0n ? [system, user] : [user, system];
  return {
    ok: true,
    adjustment: {
      userId,
      currency: asset.symbol,
      decimals: asset.decimals,
      amountUnits,
      reason,
      transaction: {
        id: context.transactionId,
        kind: 'ADMIN_ADJUSTMENT',
        description: reason,
        source: { name: 'admin', sequence: null },
        occurredAt: context.occurredAt,
        entries: [
          { account: debited, side: 'DEBIT', amountUnits: magnitude },
          { account: credited, side: 'CREDIT', amountUnits: magnitude },
        ],
      },
    },
  };
}
