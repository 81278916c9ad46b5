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

/**
 * Appends a batch shipped by one source in order, inside the caller's transaction: one head lock,
 * one lookup of the keys already present, one INSERT for the rest, one head update — a relay batch
 * of a hundred records costs four statements, not four hundred. Keys already in the chain, or
 * repeated within the batch, are skipped (idempotent re-shipment). Returns the entries appended.
 */
export async function appendAuditEntries(
  tx: Queryable,
  source: string,
  records: readonly { readonly sourceKey: string; readonly event: AuditEvent }[],
): Promise<ChainedAuditEntry[]> {
  if (records.length === 0) return [];
  const head = await tx.query<{ head_hash: string }>('SELECT head_hash FROM audit_chain_head FOR UPDATE');
  let previousHash = head.rows[0]?.head_hash;
  if (!previousHash) throw new Error('audit_chain_head is missing its row');
  const present = await tx.query<{ source_key: string }>(
    'SELECT source_key FROM audit_log WHERE source = $1 AND source_key = ANY($2::text[])',
    [source, records.map((r) => r.sourceKey)],
  );
  const seen = new Set(present.rows.map((row) => row.source_key));
  const fresh: Omit<ChainedAuditEntry, 'id'>[] = [];
  for (const { sourceKey, event } of records) {
    if (seen.has(sourceKey)) continue;
    seen.add(sourceKey);
    const content = { ...event, source, sourceKey };
    const hash = auditEntryHash(previousHash, content, currentAuditHashVersion);
    fresh.push({ ...content, hashVersion: currentAuditHashVersion, previousHash, hash });
    previousHash = hash;
  }
  if (fresh.length === 0) return [];
  const column = <T>(pick: (entry: Omit<ChainedAuditEntry, 'id'>) => T): T[] => fresh.map(pick);
  // Rows are produced in `n` order, so identity values (the chain order) ascend with it.
  const inserted = await tx.query<{ id: string; hash: string }>(
    `INSERT INTO audit_log (occurred_at, actor, actor_role, action, request_id, target_user_id, details,
                            source, source_key, hash_version, previous_hash, hash)
     SELECT occurred_at, actor, actor_role, action, request_id, target_user_id, details::jsonb,
            $8, source_key, $9, previous_hash, hash
     FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[],
                 $10::text[], $11::text[], $12::text[])
       WITH ORDINALITY AS r(occurred_at, actor, actor_role, action, request_id, target_user_id, details,
                            source_key, previous_hash, hash, n)
     ORDER BY n
     RETURNING id::text AS id, hash`,
    [
      column((e) => e.occurredAt.toISOString()),
      column((e) => e.actor),
      column((e) => e.actorRole),
      column((e) => e.action),
      column((e) => e.requestId),
      column((e) => e.targetUserId),
      column((e) => JSON.stringify(auditEventToJson(e).details)),
      source,
      currentAuditHashVersion,
      column((e) => e.sourceKey),
      column((e) => e.previousHash),
      column((e) => e.hash),
    ],
  );
  const idByHash = new Map(inserted.rows.map((row) => [row.hash, row.id]));
  const entries = fresh.map((entry) => ({ ...entry, id: idByHash.get(entry.hash)! }));
  // The chain's order is the id order: assert it is the order the hashes were linked in.
  for (let i = 1; i < entries.length; i++) {
    if (BigInt(entries[i]!.id) <= BigInt(entries[i - 1]!.id))
      throw new Error(`audit batch ids out of chain order at ${entries[i]!.id}`);
  }
  await tx.query('UPDATE audit_chain_head SET head_hash = $1', [previousHash]);
  return entries;
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
