/**
 * Identity keeps the exchange's one hash-chained audit log (DESIGN.md rule 8). The hashing and
 * verification live in `@graphex/runtime` (`audit/chain.ts`) because the `audit:verify` CLI must
 * recompute them without trusting this service; this module names identity's own actions.
 */
import type { ChainedAuditEntry } from '@graphex/runtime';

/** Actions identity records about itself (other services record their own, via their outbox). */
export const auditActions = [
  'USER_REGISTERED',
  'LOGIN_SUCCEEDED',
  'LOGIN_FAILED',
  'LOGGED_OUT',
  'SESSIONS_REVOKED',
  'REFRESH_TOKEN_REUSED',
  'ACCOUNT_LOCKED',
  'ADMIN_BOOTSTRAPPED',
  'TWO_FACTOR_ENABLED',
  'TWO_FACTOR_DISABLED',
  'API_KEY_CREATED',
  'API_KEY_REVOKED',
  'ROLE_CHANGED',
  'KYC_SUBMITTED',
  'KYC_APPROVED',
  'KYC_REJECTED',
] as const;
export type AuditAction = (typeof auditActions)[number];

/** Entries identity records itself carry this source. */
export const identityAuditSource = 'identity';

/** One entry of the chain, as `Query.auditLog` returns it. */
export type ChainedAuditRecord = ChainedAuditEntry;
