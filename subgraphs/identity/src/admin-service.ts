/** Administrative use cases: role changes (ADMIN) and reading the audit chain (ADMIN, COMPLIANCE). */
import {
  createAuditChainVerifier,
  readAuditHeadHash,
  readAuditLogPage,
  roles,
  type AuditChainCheck,
  type Database,
  type Role,
} from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Actor, Auditor } from './audit.ts';
import type { ChainedAuditRecord } from './domain/audit-chain.ts';
import { isUuid, type UserRecord } from './domain/user.ts';
import { listAudit } from './store/audit.ts';
import { findUserById, setRoleById } from './store/users.ts';

export interface AdminService {
  setUserRole(actor: Actor, userId: string, role: string): Promise<UserRecord>;
  auditLog(
    actor: Actor,
    filter: {
      userId: string | null;
      after: string | null;
      first: number;
      source?: string | null;
      action?: string | null;
    },
  ): Promise<ChainedAuditRecord[]>;
  /** Verifies the whole chain in this process (the `audit:verify` CLI does the same on its own). */
  verifyAudit(): Promise<AuditChainCheck>;
}

function requireStaffSession(actor: Actor, allowed: readonly Role[]): { userId: string; role: Role } {
  const { identity } = actor;
  if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
  // Staff act as people: an API key never carries staff powers, whoever owns it.
  if (identity.kind !== 'user')
    throw apiError('FORBIDDEN', 'Staff actions need a signed-in session, not an API key.');
  if (!allowed.includes(identity.role)) throw apiError('FORBIDDEN', `Requires role ${allowed.join(' or ')}.`);
  return { userId: identity.userId, role: identity.role };
}

export function createAdminService(options: { db: Database; audit: Auditor }): AdminService {
  const { db, audit } = options;
  return {
    async setUserRole(actor, userId, role) {
      const admin = requireStaffSession(actor, ['ADMIN']);
      if (!(roles as readonly string[]).includes(role))
        throw apiError('BAD_USER_INPUT', `Unknown role ${role}.`);
      if (!isUuid(userId)) throw apiError('NOT_FOUND', 'No user with this id.');
      // An admin cannot demote themself: the exchange must never be left without one by accident.
      if (userId === admin.userId)
        throw apiError('FORBIDDEN', 'Administrators cannot change their own role.');
      const changed = await db.transaction(async (tx) => {
        const previous = await setRoleById(tx, userId, role as Role);
        if (previous === null) return null;
        await audit.append(tx, actor, 'ROLE_CHANGED', userId, { from: previous, to: role });
        return findUserById(tx, userId);
      });
      if (!changed) throw apiError('NOT_FOUND', 'No user with this id.');
      return changed;
    },

    async auditLog(actor, filter) {
      requireStaffSession(actor, ['ADMIN', 'COMPLIANCE']);
      if (filter.userId !== null && !isUuid(filter.userId)) return [];
      if (filter.after !== null && !/^[0-9]{1,18}$/.test(filter.after))
        throw apiError('BAD_USER_INPUT', 'after is the id of an audit record.', { field: 'after' });
      const limit = Math.min(Math.max(filter.first, 1), 200);
      return listAudit(db, {
        targetUserId: filter.userId,
        afterId: filter.after,
        source: filter.source ?? null,
        action: filter.action ?? null,
        limit,
      });
    },

    verifyAudit: () =>
      db.transaction(async (tx) => {
        const verifier = createAuditChainVerifier();
        const headHash = await readAuditHeadHash(tx);
        for (let afterId: string | null = null; ;) {
          const page = await readAuditLogPage(tx, afterId, 1000);
          for (const entry of page) {
            const failed = verifier.push(entry);
            if (failed) return failed;
          }
          if (page.length < 1000) return verifier.finish(headHash);
          afterId = page[page.length - 1]!.id;
        }
      }),
  };
}
