/**
 * Reads the whole audit chain and verifies it here, in the caller's process (the `audit:verify` CLI,
 * e2e tests): every hash is recomputed from the entries' content, none is taken on trust from
 * identity. Three ways to reach the entries:
 *
 * - `databaseUrl`: identity's schema in PostgreSQL (`<DATABASE_SCHEMA_PREFIX>identity`);
 * - `dataDir`: identity's embedded PGlite directory `<DATA_DIR>/identity`, opened directly — only
 *   while identity is stopped (PGlite is single-process);
 * - `identityUrl`: the running identity service's export route, with a service token.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { signServiceToken, serviceTokenHeader } from '../auth/service-token.ts';
import { openDatabase } from '../db/index.ts';
import type { Queryable } from '../db/database.ts';
import {
  chainedAuditEntryFromJson,
  createAuditChainVerifier,
  type AuditChainCheck,
  type AuditHashVersion,
  type ChainedAuditEntry,
  type ChainedAuditEntryJson,
} from './chain.ts';
import { auditInternalPaths } from './outbox.ts';

/** Largest page the export route serves. */
export const maxAuditExportPage = 1000;

export interface AuditLogRow {
  id: string;
  occurred_at: Date | string;
  actor: string;
  actor_role: string;
  action: string;
  request_id: string;
  target_user_id: string | null;
  details: Record<string, string> | string;
  source: string;
  source_key: string;
  hash_version: number;
  previous_hash: string;
  hash: string;
}

/** Columns of identity's audit_log in the shape `auditLogRowToEntry` reads. */
export const auditLogColumns =
  'id::text AS id, occurred_at, actor, actor_role, action, request_id, target_user_id::text AS target_user_id, details, source, source_key, hash_version, previous_hash, hash';

export function auditLogRowToEntry(row: AuditLogRow): ChainedAuditEntry {
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
    source: row.source,
    sourceKey: row.source_key,
    hashVersion: Number(row.hash_version) as AuditHashVersion,
    previousHash: row.previous_hash,
    hash: row.hash,
  };
}

/** One page of identity's audit_log in chain order, after `afterId` (exclusive). */
export async function readAuditLogPage(
  db: Queryable,
  afterId: string | null,
  limit: number,
): Promise<ChainedAuditEntry[]> {
  const result = await db.query<AuditLogRow>(
    `SELECT ${auditLogColumns} FROM audit_log WHERE ($1::bigint IS NULL OR id > $1::bigint) ORDER BY audit_log.id LIMIT $2`,
    [afterId, limit],
  );
  return result.rows.map(auditLogRowToEntry);
}

export async function readAuditHeadHash(db: Queryable): Promise<string | null> {
  const result = await db.query<{ head_hash: string }>('SELECT head_hash FROM audit_chain_head');
  return result.rows[0]?.head_hash ?? null;
}

export interface AuditExportPage {
  readonly entries: readonly ChainedAuditEntryJson[];
  /** The chain head when the page was read. */
  readonly headHash: string | null;
}

export interface VerifyAuditLogOptions {
  /** PostgreSQL: identity's schema is `<schemaPrefix>identity`. */
  readonly databaseUrl?: string | undefined;
  /** Default env DATABASE_SCHEMA_PREFIX. */
  readonly schemaPrefix?: string | undefined;
  /** Embedded: the platform's DATA_DIR (identity's PGlite is `<dataDir>/identity`); identity stopped. */
  readonly dataDir?: string | undefined;
  /** Running identity: its GraphQL URL (`subgraphUrl('identity')`). */
  readonly identityUrl?: string | undefined;
  /** Needed with `identityUrl`: INTERNAL_TOKEN_SECRET. */
  readonly internalTokenSecret?: string | undefined;
  readonly pageSize?: number;
}

/** Verifies identity's whole audit chain; `ok: false` names the first entry that does not fit. */
export async function verifyAuditLog(options: VerifyAuditLogOptions): Promise<AuditChainCheck> {
  const pageSize = Math.min(options.pageSize ?? maxAuditExportPage, maxAuditExportPage);
  const verifier = createAuditChainVerifier();
  if (options.databaseUrl || options.dataDir) {
    // Opening PGlite on a missing directory would create an empty database there.
    if (!options.databaseUrl && options.dataDir && !existsSync(path.join(options.dataDir, 'identity')))
      throw new Error(
        `${path.join(options.dataDir, 'identity')} does not exist: is --data-dir the platform's DATA_DIR?`,
      );
    const db = await openDatabase({
      schema: 'identity',
      databaseUrl: options.databaseUrl,
      schemaPrefix: options.schemaPrefix,
      dataDir: options.dataDir ? path.join(options.dataDir, 'identity') : undefined,
    });
    try {
      // Head and entries from one snapshot: the chain must end exactly at the recorded head, so an
      // entry cut off the end or forged after it is reported too.
      return await db.transaction(async (tx) => {
        if (db.kind === 'postgres')
          await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const headHash = await readAuditHeadHash(tx);
        if (headHash === null)
          throw new Error("identity has no audit_chain_head: is this identity's database?");
        let afterId: string | null = null;
        for (;;) {
          const page = await readAuditLogPage(tx, afterId, pageSize);
          for (const entry of page) {
            const failed = verifier.push(entry);
            if (failed) return failed;
          }
          if (page.length < pageSize) return verifier.finish(headHash);
          afterId = page[page.length - 1]!.id;
        }
      });
    } finally {
      await db.close();
    }
  }
  if (!options.identityUrl || !options.internalTokenSecret)
    throw new Error('verifyAuditLog needs databaseUrl, dataDir, or identityUrl with internalTokenSecret');
  const token = await signServiceToken('audit-verify', options.internalTokenSecret, 300);
  let afterId = '0';
  let headHash: string | null | undefined;
  for (;;) {
    const url = new URL(auditInternalPaths.export, options.identityUrl);
    url.searchParams.set('after', afterId);
    url.searchParams.set('limit', String(pageSize));
    const response = await fetch(url, { headers: { [serviceTokenHeader]: token } });
    if (response.status !== 200)
      throw new Error(
        `identity answered HTTP ${response.status} on ${auditInternalPaths.export}: ${await response.text()}`,
      );
    const page = (await response.json()) as AuditExportPage;
    headHash ??= page.headHash;
    for (const json of page.entries) {
      const failed = verifier.push(chainedAuditEntryFromJson(json));
      if (failed) return failed;
      if (json.hash === headHash) return verifier.finish(headHash);
    }
    if (page.entries.length < pageSize) return verifier.finish(headHash);
    afterId = page.entries[page.entries.length - 1]!.id;
  }
}
