/** SQL access to the hash-chained `audit_log` (one chain for the whole exchange). */
import {
  auditEntryHash,
  auditEventToJson,
  auditLogColumns,
  auditLogRowToEntry,
  currentAuditHashVersion,
  readAuditHeadHash,
  readAuditLogPage,
  type AuditEvent,
  type AuditLogRow,
  type ChainedAuditEntry,
  type Queryable,
} from '@graphex/runtime';

/**
 * Appends an entry inside the caller's transaction, unless (source, sourceKey) is already in the
 * chain (then null: appending is idempotent). The chain head row is locked first, so concurrent
 * appends serialise into one chain and the existence check cannot race; the entry commits or rolls
 * back with the action it audits.
 */
export async function appendAuditEntry(
  tx: Queryable,
  source: string,
  sourceKey: string,
  event: AuditEvent,
): Promise<ChainedAuditEntry | null> {
  const head = await tx.query<{ head_hash: string }>('SELECT head_hash FROM audit_chain_head FOR UPDATE');
  const previousHash = head.rows[0]?.head_hash;
  if (!previousHash) throw new Error('audit_chain_head is missing its row');
  const existing = await tx.query('SELECT 1 FROM audit_log WHERE source = $1 AND source_key = $2', [
    source,
    sourceKey,
  ]);
  if (existing.rows.length > 0) return null;
  const entry = { ...event, source, sourceKey };
  const hash = auditEntryHash(previousHash, entry, currentAuditHashVersion);
  const json = auditEventToJson(event);
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO audit_log (occurred_at, actor, actor_role, action, request_id, target_user_id, details,
                            source, source_key, hash_version, previous_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id::text AS id`,
    [
      event.occurredAt,
      event.actor,
      event.actorRole,
      event.action,
      event.requestId,
      event.targetUserId,
      JSON.stringify(json.details),
      source,
      sourceKey,
      currentAuditHashVersion,
      previousHash,
      hash,
    ],
  );
  await tx.query('UPDATE audit_chain_head SET head_hash = $1', [hash]);
  return { ...entry, id: inserted.rows[0]!.id, hashVersion: currentAuditHashVersion, previousHash, hash };
}

export interface AuditFilter {
  readonly targetUserId?: string | null;
  readonly source?: string | null;
  readonly action?: string | null;
  readonly afterId?: string | null;
  readonly limit: number;
}

/** Entries in chain order, optionally filtered, the first `limit` after `afterId`. */
export async function listAudit(db: Queryable, filter: AuditFilter): Promise<ChainedAuditEntry[]> {
  const result = await db.query<AuditLogRow>(
    `SELECT ${auditLogColumns} FROM audit_log
     WHERE ($1::uuid IS NULL OR target_user_id = $1) AND ($2::bigint IS NULL OR id > $2)
       AND ($3::text IS NULL OR source = $3) AND ($4::text IS NULL OR action = $4)
     ORDER BY audit_log.id LIMIT $5`,
    [
      filter.targetUserId ?? null,
      filter.afterId ?? null,
      filter.source ?? null,
      filter.action ?? null,
      filter.limit,
    ],
  );
  return result.rows.map(auditLogRowToEntry);
}

/**
 * A page of raw entries for the verifier, with the head hash read in the same transaction, so the
 * verifier can tell where the chain ended when the page was read.
 */
export async function exportAudit(
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> },
  afterId: string,
  limit: number,
): Promise<{ entries: ChainedAuditEntry[]; headHash: string | null }> {
  return db.transaction(async (tx) => {
    const headHash = await readAuditHeadHash(tx);
    return { entries: await readAuditLogPage(tx, afterId, limit), headHash };
  });
}
