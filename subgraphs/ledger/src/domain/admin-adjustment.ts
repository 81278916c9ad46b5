/**
 * An admin balance adjustment: validated input for the core's AdminAdjust command. The core owns
 * the user's available balance; the journal books the adjustment from the core's FundsMoved
 * ADMIN_ADJUST event like every other money movement (`core-journal.ts`). Validation is complete
 * here, so bad input never reaches the core or the database.
 */
import { parseDecimal } from '@graphex/runtime';
import { referenceAssets } from '@graphex/schema';
import { isUserId } from './accounts.ts';

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
