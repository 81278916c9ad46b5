/** SQL access to the hash-chained `audit_log`. */
import type { Queryable } from '@graphex/runtime';
import { auditRecordHash, type AuditRecord, type ChainedAuditRecord } from '../domain/audit-chain.ts';

/**
 * Appends a record inside the caller's transaction. The chain head row is locked, so concurrent
 * appends serialise into one chain; the record commits or rolls back with the action it audits.
 */
export async function appendAudit(tx: Queryable, record: AuditRecord): Promise<ChainedAuditRecord> {
  const head = await tx.query<{ head_hash: string }>('SELECT head_hash FROM audit_chain_head FOR UPDATE');
  const previousHash = head.rows[0]?.head_hash;
  if (!previousHash) throw new Error('audit_chain_head is missing its row');
  const hash = auditRecordHash(previousHash, record);
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO audit_log (occurred_at, actor, actor_role, action, request_id, target_user_id, details, previous_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id::text AS id`,
    [
      record.occurredAt,
      record.actor,
      record.actorRole,
      record.action,
      record.requestId,
      record.targetUserId,
      JSON.stringify(record.details),
      previousHash,
      hash,
    ],
  );
  await tx.query('UPDATE audit_chain_head SET head_hash = $1', [hash]);
  return { ...record, id: inserted.rows[0]!.id, previousHash, hash };
}

interface AuditRow {
  id: string;
  occurred_at: Date | string;
  actor: string;
  actor_role: string;
  action: AuditRecord['action'];
  request_id: string;
  target_user_id: string | null;
  details: Record<string, string> | string;
  previous_hash: string;
  hash: string;
}

function toRecord(row: AuditRow): ChainedAuditRecord {
  return {
    id: row.id,
    occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(row.occurred_at),
    actor: row.actor,
    actorRole: row.actor_role,
    action: row.action,
    requestId: row.request_id,
    targetUserId: row.target_user_id,
    details:
      typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, string>) : row.details,
    previousHash: row.previous_hash,
    hash: row.hash,
  };
}

const columns =
  'id::text AS id, occurred_at, actor, actor_role, action, request_id, target_user_id, details, previous_hash, hash';

/** Records in chain order, optionally only those about one user, newest `limit` last. */
export async function listAudit(
  db: Queryable,
  filter: { targetUserId?: string | null; afterId?: string | null; limit: number },
): Promise<ChainedAuditRecord[]> {
  const result = await db.query<AuditRow>(
    `SELECT ${columns} FROM audit_log
     WHERE ($1::uuid IS NULL OR target_user_id = $1) AND ($2::bigint IS NULL OR id > $2)
     ORDER BY audit_log.id LIMIT $3`,
    [filter.targetUserId ?? null, filter.afterId ?? null, filter.limit],
  );
  return result.rows.map(toRecord);
}

export async function allAudit(db: Queryable): Promise<ChainedAuditRecord[]> {
  const result = await db.query<AuditRow>(`SELECT ${columns} FROM audit_log ORDER BY audit_log.id`);
  return result.rows.map(toRecord);
}
