/**
 * Ledger use cases. Balances live in the matching core (DESIGN.md rule 1):
 *
 * - `userAccounts`: from the projection of the core's BalanceChanged events.
 * - `adminAdjustBalance` (ADMIN): validated here, then the core's AdminAdjust command. A refusal
 *   (INSUFFICIENT_FUNDS) changes nothing anywhere. Once the core applied it, one database
 *   transaction journals it (idempotent on the core's eventSeq) and appends the audit record; the
 *   answer is the balance the core reported (read-your-writes).
 */
import { randomUUID } from 'node:crypto';
import { formatDecimal, requireRole, type Database, type Identity, type Logger } from '@graphex/runtime';
import {
  apiError,
  resultCodeName,
  resultCodeToErrorCode,
  ResultCode,
  type CoreClient,
} from '@graphex/schema';
import { isUserId, type UserAccountBalance } from './domain/accounts.ts';
import { planAdminAdjustment, type AdminAdjustmentInput } from './domain/admin-adjustment.ts';
import { appendAuditRecord } from './projections/audit-log.ts';
import { readCoreAccounts, type AssetCatalog } from './projections/core-balances.ts';
import { postJournalTransaction } from './projections/journal-store.ts';

export interface LedgerOperationsOptions {
  readonly db: Database;
  readonly core: CoreClient;
  readonly assets: AssetCatalog;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

export interface LedgerOperations {
  /** Balances of `userId` in every asset the core knows (zero where nothing was booked). */
  userAccounts(userId: string): Promise<UserAccountBalance[]>;
  /** ADMIN only; returns the user's account in that currency after the adjustment. */
  adminAdjustBalance(
    identity: Identity,
    requestId: string,
    input: AdminAdjustmentInput,
  ): Promise<UserAccountBalance>;
}

export function createLedgerOperations(options: LedgerOperationsOptions): LedgerOperations {
  const { db, core, assets, logger } = options;
  const clock = options.clock ?? (() => new Date());

  return {
    async userAccounts(userId) {
      const id = userId.toLowerCase();
      // Not a user id: no balances can exist.
      if (!isUserId(id)) return readCoreAccounts(db, assets, '');
      return readCoreAccounts(db, assets, id);
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
      const asset = assets.bySymbol(adjustment.currency);
      if (!asset || asset.decimals !== adjustment.decimals)
        throw apiError('BAD_USER_INPUT', `The matching core does not list ${adjustment.currency}.`, {
          field: 'currency',
        });

      let outcome;
      try {
        outcome = await core.submit({
          type: 'AdminAdjust',
          userId: adjustment.userId,
          assetId: asset.assetId,
          amountUnits: adjustment.amountUnits,
        });
      } catch (error) {
        logger.error('core submit failed', { error });
        throw apiError('SERVICE_UNAVAILABLE', 'The matching core is unavailable; nothing was adjusted.');
      }
      const { code } = outcome.result;
      if (code !== ResultCode.OK) {
        const errorCode = resultCodeToErrorCode[code] ?? 'INTERNAL_SERVER_ERROR';
        throw apiError(
          errorCode,
          errorCode === 'INSUFFICIENT_FUNDS'
            ? `Available ${adjustment.currency} balance is less than ${formatDecimal(-adjustment.amountUnits, adjustment.decimals)}.`
            : `The matching core refused the adjustment (${resultCodeName(code)}).`,
        );
      }
      const moved = outcome.events.find((event) => event.type === 'FundsMoved');
      const balance = outcome.events.find(
        (event) =>
          event.type === 'BalanceChanged' &&
          event.userId === adjustment.userId &&
          event.assetId === asset.assetId,
      );
      if (moved?.type !== 'FundsMoved' || balance?.type !== 'BalanceChanged')
        throw new Error(
          `AdminAdjust ${outcome.result.seq} succeeded without FundsMoved and BalanceChanged events.`,
        );

      const transaction = {
        ...adjustment.transaction,
        // The core's event sequence makes the journal entry idempotent.
        source: { name: 'core', sequence: BigInt(moved.eventSeq) },
      };
      try {
        await db.transaction(async (tx) => {
          const posted = await postJournalTransaction(tx, transaction);
          if (posted.kind === 'duplicate') return;
          if (posted.kind !== 'posted')
            throw new Error(`Journal refused core adjustment ${moved.eventSeq}: ${posted.kind}`);
          await appendAuditRecord(tx, {
            occurredAt,
            actorUserId: actor.userId,
            actorRole: actor.role,
            action: 'ADMIN_ADJUST_BALANCE',
            requestId,
            targetUserId: adjustment.userId,
            journalTransactionId: transaction.id,
            reason: adjustment.reason,
            details: {
              currency: adjustment.currency,
              amount: formatDecimal(adjustment.amountUnits, adjustment.decimals),
              amountUnits: adjustment.amountUnits.toString(),
              coreEventSeq: String(moved.eventSeq),
              ...(identity.sessionId ? { actorSessionId: identity.sessionId } : {}),
            },
          });
        });
      } catch (error) {
        // The core applied the adjustment; losing its audit record must be loud, not silent.
        logger.error('admin adjustment applied by the core but not journaled/audited', {
          error,
          coreEventSeq: moved.eventSeq,
          actorUserId: actor.userId,
          targetUserId: adjustment.userId,
        });
        throw error;
      }
      logger.info('admin balance adjustment', {
        actorUserId: actor.userId,
        targetUserId: adjustment.userId,
        currency: adjustment.currency,
        amount: formatDecimal(adjustment.amountUnits, adjustment.decimals),
        journalTransactionId: transaction.id,
        coreEventSeq: moved.eventSeq,
      });
      return {
        currency: asset.symbol,
        decimals: asset.decimals,
        availableUnits: balance.availableUnits,
        lockedUnits: balance.lockedUnits,
      };
    },
  };
}
