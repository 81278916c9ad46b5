/**
 * Ledger use cases: read a user's accounts, and the ADMIN balance adjustment — one database
 * transaction that posts a balanced journal transaction, updates the account balances and appends
 * the audit record, or does none of it.
 */
import { randomUUID } from 'node:crypto';
import { formatDecimal, requireRole, type Database, type Identity, type Logger } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { isUserId, userAccountsFrom, type UserAccountBalance } from './domain/accounts.ts';
import { planAdminAdjustment, type AdminAdjustmentInput } from './domain/admin-adjustment.ts';
import { appendAuditRecord } from './projections/audit-log.ts';
import { readUserAccounts } from './projections/balances.ts';
import { postJournalTransaction } from './projections/journal-store.ts';

export interface LedgerOperationsOptions {
  readonly db: Database;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

export interface LedgerOperations {
  /** Balances of `userId` in every listed asset (zero where nothing was booked). */
  userAccounts(userId: string): Promise<UserAccountBalance[]>;
  /** ADMIN only; returns the user's account in that currency after the adjustment. */
  adminAdjustBalance(
    identity: Identity,
    requestId: string,
    input: AdminAdjustmentInput,
  ): Promise<UserAccountBalance>;
}

export function createLedgerOperations(options: LedgerOperationsOptions): LedgerOperations {
  const { db, logger } = options;
  const clock = options.clock ?? (() => new Date());

  return {
    async userAccounts(userId) {
      const id = userId.toLowerCase();
      // Not a user id: no balances can exist, and it must not reach the uuid column.
      if (!isUserId(id)) return userAccountsFrom([]);
      return readUserAccounts(db, id);
    },

    async adminAdjustBalance(identity, requestId, input) {
      const actor = requireRole(identity, 'ADMIN');
      if (identity.kind !== 'user') {
        throw apiError('FORBIDDEN', 'Balance adjustments need a signed-in ADMIN session, not an API key.');
      }
      const occurredAt = clock();
      const plan = planAdminAdjustment(input, { transactionId: randomUUID(), occurredAt });
      if (!plan.ok) throw apiError('BAD_USER_INPUT', plan.message, { field: plan.field });
      const { adjustment } = plan;

      const account = await db.transaction(async (tx) => {
        const posted = await postJournalTransaction(tx, adjustment.transaction);
        if (posted.kind === 'insufficient-funds') {
          // Throwing rolls the database transaction back: nothing was booked.
          throw apiError(
            'INSUFFICIENT_FUNDS',
            `Available ${adjustment.currency} balance ${formatDecimal(posted.balanceUnits, adjustment.decimals)} is less than ${formatDecimal(-adjustment.amountUnits, adjustment.decimals)}.`,
          );
        }
        if (posted.kind === 'duplicate')
          throw new Error(`Journal transaction ${adjustment.transaction.id} was posted twice.`);
        await appendAuditRecord(tx, {
          occurredAt,
          actorUserId: actor.userId,
          actorRole: actor.role,
          action: 'ADMIN_ADJUST_BALANCE',
          requestId,
          targetUserId: adjustment.userId,
          journalTransactionId: adjustment.transaction.id,
          reason: adjustment.reason,
          details: {
            currency: adjustment.currency,
            amount: formatDecimal(adjustment.amountUnits, adjustment.decimals),
            amountUnits: adjustment.amountUnits.toString(),
            ...(identity.sessionId ? { actorSessionId: identity.sessionId } : {}),
          },
        });
        const accounts = await readUserAccounts(tx, adjustment.userId);
        return accounts.find((a) => a.currency === adjustment.currency)!;
      });
      logger.info('admin balance adjustment', {
        actorUserId: actor.userId,
        targetUserId: adjustment.userId,
        currency: adjustment.currency,
        amount: formatDecimal(adjustment.amountUnits, adjustment.decimals),
        journalTransactionId: adjustment.transaction.id,
      });
      return account;
    },
  };
}
