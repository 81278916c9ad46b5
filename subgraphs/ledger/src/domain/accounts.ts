/**
 * Ledger accounts. Every balance lives in a ledger account; a user's API `Account` in one asset is
 * the pair of their AVAILABLE and LOCKED ledger accounts in it. System accounts are the other side
 * of money entering or leaving user balances (admin adjustments today; deposits, withdrawals and
 * fee revenue when the matching core feeds the ledger).
 *
 * Sign convention: an account's balance is Σ credits − Σ debits in base units. User accounts are
 * what the exchange owes its users (credit-normal, never negative); system accounts carry the
 * opposite sign. So for every asset the balances of all accounts sum to zero.
 */
import { referenceAssets, type AssetSpec } from '@graphex/schema';
import type { Identity } from '@graphex/runtime';

export const userBuckets = ['AVAILABLE', 'LOCKED'] as const;
export type UserBucket = (typeof userBuckets)[number];

/**
 * ADMIN_ADJUSTMENTS: the other side of admin corrections. CORE_USER_BALANCES: what users hold in
 * the matching core, which owns per-user balances; until the journal books every core event per
 * user (the money-trail issue), admin adjustments are journaled against this aggregate.
 */
export const systemAccountNames = ['ADMIN_ADJUSTMENTS', 'CORE_USER_BALANCES'] as const;
export type SystemAccountName = (typeof systemAccountNames)[number];

export type LedgerAccountRef =
  | { readonly kind: 'user'; readonly userId: string; readonly currency: string; readonly bucket: UserBucket }
  | { readonly kind: 'system'; readonly name: SystemAccountName; readonly currency: string };

/** Stable primary key of a ledger account, e.g. `user:<uuid>:BTC:AVAILABLE`, `system:ADMIN_ADJUSTMENTS:BTC`. */
export function ledgerAccountKey(ref: LedgerAccountRef): string {
  return ref.kind === 'user'
    ? `user:${ref.userId}:${ref.currency}:${ref.bucket}`
    : `system:${ref.name}:${ref.currency}`;
}

/** User accounts are owed to users and may never go below zero; system accounts may. */
export function mayGoNegative(ref: LedgerAccountRef): boolean {
  return ref.kind === 'system';
}

/** The `User` entity as the ledger knows it: just the key. */
export interface LedgerUserRef {
  readonly id: string;
}

/** One API `Account`: a user's balances in one asset, in base units. */
export interface UserAccountBalance {
  readonly currency: string;
  readonly decimals: number;
  readonly availableUnits: bigint;
  readonly lockedUnits: bigint;
}

/** Assets every user has an account in, in display order. */
export const ledgerAssets: readonly AssetSpec[] = referenceAssets;

export function ledgerAsset(currency: string): AssetSpec | undefined {
  return ledgerAssets.find((asset) => asset.symbol === currency);
}

/**
 * A user's accounts in every listed asset from the stored bucket balances; assets with no stored
 * row are zero (rows are created lazily by the first transaction that touches them).
 */
export function userAccountsFrom(
  stored: ReadonlyArray<{ currency: string; bucket: UserBucket; balanceUnits: bigint }>,
): UserAccountBalance[] {
  return ledgerAssets.map((asset) => {
    const bucket = (name: UserBucket) =>
      stored.find((row) => row.currency === asset.symbol && row.bucket === name)?.balanceUnits ?? 0n;
    return {
      currency: asset.symbol,
      decimals: asset.decimals,
      availableUnits: bucket('AVAILABLE'),
      lockedUnits: bucket('LOCKED'),
    };
  });
}

export const balanceReaderRoles = ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const;

/** Who may read a user's balances: the user themself and staff. */
export function balanceAccess(
  identity: Identity,
  userId: string,
): 'allowed' | 'unauthenticated' | 'forbidden' {
  if (identity.kind === 'anonymous') return 'unauthenticated';
  if (identity.userId === userId) return 'allowed';
  return (balanceReaderRoles as readonly string[]).includes(identity.role) ? 'allowed' : 'forbidden';
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** User ids are lower-case UUIDs (as identity issues them). */
export function isUserId(value: string): boolean {
  return uuidPattern.test(value);
}
