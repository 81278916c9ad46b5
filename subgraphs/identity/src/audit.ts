/**
 * Who did something (for the audit chain), the one way identity appends its own audit entries, and
 * the intake of entries other services ship from their outboxes (`POST /internal/audit/append`).
 */
import { randomUUID } from 'node:crypto';
import {
  auditEventFromJson,
  isAuditSource,
  isAuditSourceKey,
  maxAuditAppendBatch,
  validateAuditEvent,
  type AuditEvent,
  type Database,
  type Identity,
  type Logger,
  type Queryable,
} from '@graphex/runtime';
import { identityAuditSource, type AuditAction } from './domain/audit-chain.ts';
import { appendAuditEntries, appendAuditEntry } from './store/audit.ts';

export interface Actor {
  readonly identity: Identity;
  readonly requestId: string;
}

/** An action taken by the platform itself (a provider callback, a lockout). */
export function systemActor(name: string, requestId: string): Actor & { readonly name: string } {
  return { identity: { kind: 'anonymous' }, requestId, name };
}

export interface Auditor {
  /**
   * Appends an entry (source `identity`) in the action's transaction. An anonymous actor is
   * recorded as `name` (default `system`) with role `actorRole` (default SYSTEM).
   */
  append(
    tx: Queryable,
    actor: Actor & { readonly name?: string; readonly actorRole?: string },
    action: AuditAction,
    targetUserId: string | null,
    details: Record<string, string>,
  ): Promise<void>;
}

export function createAuditor(logger: Logger, clock: () => Date): Auditor {
  return {
    async append(tx, actor, action, targetUserId, details) {
      const { identity } = actor;
      // Identity's own entries need a key only to be unique: they are never shipped twice.
      const sourceKey = `${action.toLowerCase()}:${randomUUID()}`;
      const entry = await appendAuditEntry(tx, identityAuditSource, sourceKey, {
        occurredAt: clock(),
        actor: identity.kind === 'anonymous' ? (actor.name ?? 'system') : identity.userId,
        actorRole: identity.kind === 'anonymous' ? (actor.actorRole ?? 'SYSTEM') : identity.role,
        action,
        requestId: actor.requestId,
        targetUserId,
        details: {
          ...details,
          ...(identity.kind === 'user' && identity.sessionId ? { sessionId: identity.sessionId } : {}),
          ...(identity.kind === 'apiKey' ? { apiKeyId: identity.apiKeyId } : {}),
        },
      });
      logger.info('audit', { action, auditId: entry?.id, targetUserId, requestId: actor.requestId });
    },
  };
}

export type AuditIntakeResult =
  | { readonly ok: true; readonly appended: number; readonly duplicates: number }
  | { readonly ok: false; readonly error: string };

/**
 * Appends the records a service shipped, in order, in one transaction; records already in the chain
 * (same source and key: a re-shipment) are skipped. The whole batch is refused when any record is
 * malformed, so a bad record cannot be half-applied.
 */
export async function appendShippedAudit(
  db: Database,
  logger: Logger,
  callerService: string,
  body: Record<string, unknown>,
): Promise<AuditIntakeResult> {
  const source = body['source'];
  const records = body['records'];
  if (typeof source !== 'string' || !isAuditSource(source))
    return { ok: false, error: 'source must be a service name (lower-case letters, digits, -).' };
  // A service appends as itself only; identity's own entries never come through this door.
  if (source !== callerService || source === identityAuditSource)
    return { ok: false, error: `A ${callerService} service token cannot append entries of ${source}.` };
  if (!Array.isArray(records) || records.length === 0 || records.length > maxAuditAppendBatch)
    return { ok: false, error: `records must be an array of 1..${maxAuditAppendBatch} records.` };
  const parsed: { sourceKey: string; event: AuditEvent }[] = [];
  for (const [index, record] of (records as unknown[]).entries()) {
    const r = (typeof record === 'object' && record !== null ? record : {}) as Record<string, unknown>;
    const sourceKey = r['sourceKey'];
    const event = auditEventFromJson(r['event']);
    if (typeof sourceKey !== 'string' || !isAuditSourceKey(sourceKey))
      return { ok: false, error: `records[${index}].sourceKey is missing or too long.` };
    if (!event) return { ok: false, error: `records[${index}].event is not an audit event.` };
    const problem = validateAuditEvent(event);
    if (problem) return { ok: false, error: `records[${index}].event: ${problem}.` };
    parsed.push({ sourceKey, event });
  }
  const appended = (await db.transaction((tx) => appendAuditEntries(tx, source, parsed))).length;
  const counts = { appended, duplicates: parsed.length - appended };
  logger.info('audit entries shipped in', { source, ...counts });
  return { ok: true, ...counts };
}
