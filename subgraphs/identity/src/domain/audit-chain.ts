/**
 * Hash-chained audit records (DESIGN.md rule 8): each record's hash covers its content and the
 * previous record's hash, so editing, deleting or reordering a record breaks every later link and
 * `verifyAuditChain` names the first record that no longer fits.
 */
import { createHash } from 'node:crypto';

export const genesisHash = '0'.repeat(64);

export const auditActions = [
  'SESSIONS_REVOKED',
  'ACCOUNT_LOCKED',
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

export interface AuditRecord {
  readonly occurredAt: Date;
  /** A user id, `provider:<name>` or `system`. */
  readonly actor: string;
  readonly actorRole: string;
  readonly action: AuditAction;
  readonly requestId: string;
  readonly targetUserId: string | null;
  /** Flat string map, hashed in key order. */
  readonly details: Readonly<Record<string, string>>;
}

export interface ChainedAuditRecord extends AuditRecord {
  readonly id: string;
  readonly previousHash: string;
  readonly hash: string;
}

export function auditRecordHash(previousHash: string, record: AuditRecord): string {
  const details = Object.keys(record.details)
    .sort()
    .map((key) => [key, record.details[key]]);
  const canonical = JSON.stringify([
    previousHash,
    record.occurredAt.toISOString(),
    record.actor,
    record.actorRole,
    record.action,
    record.requestId,
    record.targetUserId,
    details,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export type AuditChainCheck =
  | { readonly ok: true; readonly length: number; readonly headHash: string }
  | { readonly ok: false; readonly firstBadId: string; readonly problem: 'BROKEN_LINK' | 'HASH_MISMATCH' };

/** Verifies records in chain order (ascending id). */
export function verifyAuditChain(records: readonly ChainedAuditRecord[]): AuditChainCheck {
  let previous = genesisHash;
  for (const record of records) {
    if (record.previousHash !== previous) return { ok: false, firstBadId: record.id, problem: 'BROKEN_LINK' };
    if (auditRecordHash(previous, record) !== record.hash)
      return { ok: false, firstBadId: record.id, problem: 'HASH_MISMATCH' };
    previous = record.hash;
  }
  return { ok: true, length: records.length, headHash: previous };
}
