/**
 * The chart of accounts. Every balance lives in a ledger account, per asset:
 *
 * - user buckets: AVAILABLE (spendable), LOCKED (held by open orders), WITHDRAWING (held for a
 *   withdrawal in flight). The API `Account` of a user in one asset is AVAILABLE and
 *   LOCKED + WITHDRAWING (the core's `locked` includes withdrawal holds).
 * - system accounts: FEE_REVENUE (trading fees earned), CUSTODY (what the exchange holds on chain
 *   for its users: debited by deposits, credited by settled withdrawals, so its balance is ≤ 0 and
 *   −balance is the holdings), ADJUSTMENTS (the other side of admin corrections).
 *
 * Sign convention: an account's balance is Σ credits − Σ debits in base units. User accounts are
 * what the exchange owes its users (credit-normal, never negative); system accounts may be
 * negative. Every transaction balances, so for every asset all balances sum to zero.
 */
import type { Identity } from '@graphex/runtime';

export const userBuckets = ['AVAILABLE', 'LOCKED', 'WITHDRAWING'] as const;
export type UserBucket = (typeof userBuckets)[number];

export const systemAccountNames = ['FEE_REVENUE', 'CUSTODY', 'ADJUSTMENTS'] as const;
export type SystemAccountName = (typeof systemAccountNames)[number];

export type LedgerAccountRef =
  | { readonly kind: 'user'; readonly userId: string; readonly currency: string; readonly bucket: UserBucket }
  | { readonly kind: 'system'; readonly name: SystemAccountName; readonly currency: string };

/** Stable primary key of a ledger account, e.g. `user:<uuid>:BTC:AVAILABLE`, `system:CUSTODY:BTC`. */
export function ledgerAccountKey(ref: LedgerAccountRef): string {
  return ref.kind === 'user'
    ? `user:${ref.userId}:${ref.currency}:${ref.bucket}`
    : `system:${ref.name}:${ref.currency}`;
}

/** Which buckets make up the API `Account.locked`. */
export const lockedBuckets: readonly UserBucket[] = ['LOCKED', 'WITHDRAWING'];

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
  readonly userId: string;
  readonly currency: string;
  readonly decimals: number;
  readonly availableUnits: bigint;
  readonly lockedUnits: bigint;
}

export const balanceReaderRoles = ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const;

/**
 * Who may read a user's balances and entries: the user themself (also with an API key) and staff
 * with a signed-in session. A staff member's API key never reads other users' balances: the
 * gateway already signs API-key identities as USER, and this subgraph does not rely on it (zero
 * trust, DESIGN.md rule 9).
 */
export function balanceAccess(
  identity: Identity,
  userId: string,
): 'allowed' | 'unauthenticated' | 'forbidden' {
  if (identity.kind === 'anonymous') return 'unauthenticated';
  if (identity.userId === userId) return 'allowed';
  if (identity.kind !== 'user') return 'forbidden';
  return (balanceReaderRoles as readonly string[]).includes(identity.role) ? 'allowed' : 'forbidden';
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** User ids are lower-case UUIDs (as identity issues them). */
export function isUserId(value: string): boolean {
  return uuidPattern.test(value);
}
