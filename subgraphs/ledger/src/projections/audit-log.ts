/** Appends to and reads the hash-chained audit log. */
import type { Queryable } from '@graphex/runtime';
import { auditRecordHash, type AuditRecord, type ChainedAuditRecord } from '../domain/audit-chain.ts';

/** Appends `record` to the chain inside the caller's transaction (serialized by the head row lock). */
export async function appendAuditRecord(tx: Queryable, record: AuditRecord): Promise<ChainedAuditRecord> {
  const head = await tx.query<{ last_hash: string }>('SELECT last_hash FROM audit_chain_head FOR UPDATE');
  const previousHash = head.rows[0]?.last_hash;
  if (!previousHash) throw new Error('audit_chain_head is missing: the ledger migrations did not run.');
  const hash = auditRecordHash(previousHash, record);
  const inserted = await tx.query<{ id: string | number }>(
    `INSERT INTO audit_log (occurred_at, actor_user_id, actor_role, action, request_id, target_user_id,
       journal_transaction_id, reason, details, previous_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)
     RETURNING id`,
    [
      record.occurredAt,
      record.actorUserId,
      record.actorRole,
      record.action,
      record.requestId,
      record.targetUserId,
      record.journalTransactionId,
      record.reason,
      JSON.stringify(record.details),
      previousHash,
      hash,
    ],
  );
  await tx.query('UPDATE audit_chain_head SET last_hash = $1, length = length + 1', [hash]);
  return { ...record, id: String(inserted.rows[0]!.id), previousHash, hash };
}

interface AuditRow {
  id: string | number;
  occurred_at: Date | string;
  actor_user_id: string;
  actor_role: string;
  action: string;
  request_id: string;
  target_user_id: string | null;
  journal_transaction_id: string | null;
  reason: string;
  details: Record<string, string> | string;
  previous_hash: string;
  hash: string;
}

/** The whole chain in order (for verification; bounded by `limit`). */
export async function readAuditChain(db: Queryable, limit = 1_000_000): Promise<ChainedAuditRecord[]> {
  const result = await db.query<AuditRow>('SELECT * FROM audit_log ORDER BY id LIMIT $1', [limit]);
  return result.rows.map((row) => ({
    id: String(row.id),
    occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(row.occurred_at),
    actorUserId: row.actor_user_id,
    actorRole: row.actor_role,
    action: row.action,
    requestId: row.request_id,
    targetUserId: row.target_user_id,
    journalTransactionId: row.journal_transaction_id,
    reason: row.reason,
    details:
      typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, string>) : row.details,
    previousHash: row.previous_hash,
    hash: row.hash,
  }));
}
