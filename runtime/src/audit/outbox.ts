/**
 * Services other than identity never write to identity's database. Each records its audit events
 * in its own `audit_outbox` table, in the same transaction as the action it audits (so the action
 * and its audit record commit or roll back together), and a relay ships the rows to identity, which
 * appends them to the one chain. Identity dedupes by (source, sourceKey), so shipping a row twice
 * (a crash between identity's answer and marking the row shipped) still appends it once.
 *
 * Identity's internal audit routes (service token, like `auth/identity-internal.ts`):
 *
 *   POST /internal/audit/append   { source, records: [{ sourceKey, event }] } → { appended, duplicates }
 *        the token's service must equal `source`; records are appended in order in one transaction.
 *   GET  /internal/audit/export?after=<id>&limit=<n>  → { entries: ChainedAuditEntryJson[], headHash }
 *        raw entries in chain order, for the `audit:verify` CLI.
 */
import type { Database, Queryable } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { serviceTokenHeader, signServiceToken } from '../auth/service-token.ts';
import {
  auditEventToJson,
  isAuditSourceKey,
  validateAuditEvent,
  type AuditEvent,
  type AuditEventJson,
} from './chain.ts';

export const auditInternalPaths = {
  append: '/internal/audit/append',
  export: '/internal/audit/export',
} as const;

/** At most this many records per append request (identity refuses more). */
export const maxAuditAppendBatch = 200;

/**
 * SQL of the outbox table. A service's own numbered migration file contains it verbatim (migrations
 * are plain SQL files, so this constant is the reference they are checked against in tests).
 */
export const auditOutboxSql = `CREATE TABLE audit_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_key text NOT NULL UNIQUE,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  shipped_at timestamptz
);
CREATE INDEX audit_outbox_unshipped ON audit_outbox (id) WHERE shipped_at IS NULL;`;

/**
 * Inserts into audit_outbox inside the caller's transaction; a second call with the same sourceKey
 * is a no-op. A malformed event is a programmer error and throws (rolling back the action).
 */
export async function enqueueAudit(tx: Queryable, sourceKey: string, event: AuditEvent): Promise<void> {
  const problem = validateAuditEvent(event);
  if (problem) throw new Error(`audit event ${event.action} is malformed: ${problem}`);
  if (!isAuditSourceKey(sourceKey)) throw new Error(`audit source key "${sourceKey}" is empty or too long`);
  await tx.query(
    'INSERT INTO audit_outbox (source_key, event) VALUES ($1, $2) ON CONFLICT (source_key) DO NOTHING',
    [sourceKey, JSON.stringify(auditEventToJson(event))],
  );
}

/** One outbox record: its idempotency key within the service and the event. */
export interface AuditOutboxRecord {
  readonly sourceKey: string;
  readonly event: AuditEvent;
}

/**
 * `enqueueAudit` for many records in ONE statement (a projection batch auditing hundreds of orders
 * should not pay a round trip each); keys already present, or repeated in `records`, are skipped.
 */
export async function enqueueAudits(tx: Queryable, records: readonly AuditOutboxRecord[]): Promise<void> {
  if (records.length === 0) return;
  for (const { sourceKey, event } of records) {
    const problem = validateAuditEvent(event);
    if (problem) throw new Error(`audit event ${event.action} is malformed: ${problem}`);
    if (!isAuditSourceKey(sourceKey)) throw new Error(`audit source key "${sourceKey}" is empty or too long`);
  }
  await tx.query(
    `INSERT INTO audit_outbox (source_key, event)
     SELECT source_key, event::jsonb FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(source_key, event, n)
     ORDER BY n
     ON CONFLICT (source_key) DO NOTHING`,
    [records.map((r) => r.sourceKey), records.map((r) => JSON.stringify(auditEventToJson(r.event)))],
  );
}

export interface AuditRelayOptions {
  /** The service's database, holding its `audit_outbox`. */
  readonly db: Database;
  /** The service's name, e.g. `orders`; the entries' `source` and the service token's subject. */
  readonly source: string;
  /** Identity's GraphQL URL (`subgraphUrl('identity')`); the internal path is resolved against it. */
  readonly identityUrl: string;
  /** INTERNAL_TOKEN_SECRET (`config.internalTokenSecret`). */
  readonly internalTokenSecret: string;
  readonly logger: Logger;
  /** Poll period while healthy; default 250 ms. */
  readonly intervalMs?: number;
  /** Rows per append request; default 100, at most `maxAuditAppendBatch`. */
  readonly batchSize?: number;
  /** Ceiling of the retry backoff (doubling from `intervalMs`) while identity fails; default 30 s. */
  readonly maxBackoffMs?: number;
  /** Timeout of one append request; default 5 s. */
  readonly requestTimeoutMs?: number;
}

export interface AuditRelay {
  /** Ships every row unshipped when called (in id order); rejects if identity cannot take them now. */
  flush(): Promise<void>;
  /** Stops polling, then tries one last flush (a failure is logged; the rows wait for next start). */
  stop(): Promise<void>;
}

export class AuditRelayError extends Error {
  override name = 'AuditRelayError';
  /** Identity refused the batch itself (HTTP 4xx): a bug to fix, not an outage to wait out. */
  readonly refused: boolean;
  constructor(message: string, options?: { cause?: unknown; refused?: boolean }) {
    super(message, options);
    this.refused = options?.refused ?? false;
  }
}

interface OutboxRow {
  id: string;
  source_key: string;
  event: AuditEventJson | string;
}

/** Starts shipping the service's outbox to identity in the background. */
export function startAuditRelay(options: AuditRelayOptions): AuditRelay {
  const { db, source, logger } = options;
  const intervalMs = options.intervalMs ?? 250;
  const batchSize = Math.min(options.batchSize ?? 100, maxAuditAppendBatch);
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  const appendUrl = new URL(auditInternalPaths.append, options.identityUrl);

  let token: { value: Promise<string>; renewAtMs: number } | undefined;
  const serviceToken = (): Promise<string> => {
    const now = Date.now();
    if (!token || token.renewAtMs <= now) {
      token = { value: signServiceToken(source, options.internalTokenSecret, 120), renewAtMs: now + 60_000 };
    }
    return token.value;
  };

  /** Ships one batch of rows with id ≤ `upToId`; returns how many it shipped. */
  async function shipBatch(upToId: string | null): Promise<number> {
    const rows = (
      await db.query<OutboxRow>(
        `SELECT id::text AS id, source_key, event FROM audit_outbox
         WHERE shipped_at IS NULL AND ($1::bigint IS NULL OR id <= $1::bigint) ORDER BY audit_outbox.id LIMIT $2`,
        [upToId, batchSize],
      )
    ).rows;
    if (rows.length === 0) return 0;
    const records = rows.map((row) => ({
      sourceKey: row.source_key,
      event: typeof row.event === 'string' ? (JSON.parse(row.event) as AuditEventJson) : row.event,
    }));
    let response: Response;
    try {
      response = await fetch(appendUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [serviceTokenHeader]: await serviceToken() },
        body: JSON.stringify({ source, records }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      throw new AuditRelayError(`identity unreachable: ${(error as Error).message}`, { cause: error });
    }
    if (response.status !== 200) {
      const text = await response.text().catch(() => '');
      throw new AuditRelayError(
        `identity answered HTTP ${response.status} on ${auditInternalPaths.append}: ${text}`,
        { refused: response.status >= 400 && response.status < 500 },
      );
    }
    await response.body?.cancel().catch(() => undefined);
    await db.query('UPDATE audit_outbox SET shipped_at = now() WHERE id = ANY($1::bigint[])', [
      rows.map((r) => r.id),
    ]);
    return rows.length;
  }

  async function shipAll(): Promise<void> {
    const last = await db.query<{ id: string | null }>(
      'SELECT max(id)::text AS id FROM audit_outbox WHERE shipped_at IS NULL',
    );
    const upToId = last.rows[0]?.id ?? null;
    if (upToId === null) return;
    while ((await shipBatch(upToId)) > 0) {
      // keep going until everything up to `upToId` is shipped
    }
  }

  // One shipment at a time: the timer and flush() share this queue, so rows leave in id order.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = (): Promise<void> => {
    const run = queue.then(shipAll);
    queue = run.catch(() => undefined);
    return run;
  };

  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void tick(), delayMs);
    timer.unref();
  };
  async function tick(): Promise<void> {
    try {
      await serialized();
      if (failures > 0) logger.info('audit relay delivered again', { source, failures });
      failures = 0;
    } catch (error) {
      failures += 1;
      // Refusals stop the outbox (rows leave in order) until someone fixes the cause: say so loudly.
      if (error instanceof AuditRelayError && error.refused)
        logger.error('identity refuses audit records; the outbox is stuck', { source, failures, error });
      else if (failures === 1 || failures % 20 === 0)
        logger.warn('audit relay cannot ship yet; retrying', { source, failures, error });
    }
    schedule(Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(failures, 16)));
  }
  schedule(0);

  return {
    flush: serialized,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await serialized().catch((error: unknown) =>
        logger.warn('audit relay stopped with rows still unshipped', { source, error }),
      );
    },
  };
}
