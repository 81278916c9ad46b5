/** Who did something (for the audit chain) and the one way to append an audit record. */
import type { Identity, Logger, Queryable } from '@graphex/runtime';
import type { AuditAction } from './domain/audit-chain.ts';
import { appendAudit } from './store/audit.ts';

export interface Actor {
  readonly identity: Identity;
  readonly requestId: string;
}

/** An action taken by the platform itself (a provider callback, a lockout). */
export function systemActor(name: string, requestId: string): Actor & { readonly name: string } {
  return { identity: { kind: 'anonymous' }, requestId, name };
}

export interface Auditor {
  append(
    tx: Queryable,
    actor: Actor & { readonly name?: string },
    action: AuditAction,
    targetUserId: string | null,
    details: Record<string, string>,
  ): Promise<void>;
}

export function createAuditor(logger: Logger, clock: () => Date): Auditor {
  return {
    async append(tx, actor, action, targetUserId, details) {
      const { identity } = actor;
      const record = await appendAudit(tx, {
        occurredAt: clock(),
        actor: identity.kind === 'anonymous' ? (actor.name ?? 'system') : identity.userId,
        actorRole: identity.kind === 'anonymous' ? 'SYSTEM' : identity.role,
        action,
        requestId: actor.requestId,
        targetUserId,
        details: {
          ...details,
          ...(identity.kind === 'user' && identity.sessionId ? { sessionId: identity.sessionId } : {}),
          ...(identity.kind === 'apiKey' ? { apiKeyId: identity.apiKeyId } : {}),
        },
      });
      logger.info('audit', { action, auditId: record.id, targetUserId, requestId: actor.requestId });
    },
  };
}
