/**
 * Ledger use cases. Balances live in the matching core (DESIGN.md rule 1); the ledger journals
 * every core event (`projections/core-projection.ts`):
 *
 * - `userAccounts`, `accountEntries`: the journal's balances and entries of a user.
 * - `adminAdjustBalance` (ADMIN): validated here, then the core's AdminAdjust command. A refusal
 *   (INSUFFICIENT_FUNDS) changes nothing anywhere. The journal books it from the core's FundsMoved
 *   event like any other movement; here it is audited (BALANCE_ADJUSTED through the audit outbox,
 *   keyed by that event's sequence) and answered with the balance the core reported
 *   (read-your-writes).
 * - `reconciliation` (ADMIN, COMPLIANCE): the ledger against its rules, the core and the chain.
 */
import {
  enqueueAudit,
  formatDecimal,
  requireRole,
  type Database,
  type Identity,
  type Logger,
} from '@graphex/runtime';
import {
  apiError,
  resultCodeName,
  resultCodeToErrorCode,
  ResultCode,
  type CoreClient,
} from '@graphex/schema';
import type { CustodySource } from './custody-source.ts';
import { isUserId, type UserAccountBalance } from './domain/accounts.ts';
import { planAdminAdjustment, type AdminAdjustmentInput } from './domain/admin-adjustment.ts';
import type { AssetCatalog } from './domain/core-catalog.ts';
import { reconcile, type LedgerReconciliationReport } from './domain/reconciliation.ts';
import {
  readAccountEntries,
  readUserAccounts,
  type EntryCursor,
  type EntryPage,
} from './projections/journal-store.ts';
import { readReconciliationInputs } from './projections/reconciliation-store.ts';

export interface LedgerOperationsOptions {
  readonly db: Database;
  readonly core: CoreClient;
  readonly assets: AssetCatalog;
  readonly logger: Logger;
  /** What the chain holds for users; absent = not configured (custody vs chain is unknown). */
  readonly custody?: CustodySource;
  readonly clock?: () => Date;
}

/** Largest page of `Account.entries`. */
export const maxEntriesPerPage = 500;

export interface LedgerOperations {
  /** Balances of `userId` in every asset the core knows (zero where nothing was booked). */
  userAccounts(userId: string): Promise<UserAccountBalance[]>;
  /** ADMIN only; returns the user's account in that currency after the adjustment. */
  adminAdjustBalance(
    identity: Identity,
    requestId: string,
    input: AdminAdjustmentInput,
  ): Promise<UserAccountBalance>;
  /**
   * `limit` (1 … maxEntriesPerPage) entries of the account's buckets, newest first, after
   * `cursor`; the caller checks visibility. One more than `limit` is read to tell if more exist.
   */
  accountEntries(account: UserAccountBalance, limit: number, cursor: EntryCursor | null): Promise<EntryPage>;
  /** ADMIN and COMPLIANCE: the ledger reconciled at its current projection sequence. */
  reconciliation(identity: Identity): Promise<LedgerReconciliationReport>;
}

export function createLedgerOperations(options: LedgerOperationsOptions): LedgerOperations {
  const { db, core, assets, logger } = options;
  const clock = options.clock ?? (() => new Date());

  return {
    async userAccounts(userId) {
      const id = userId.toLowerCase();
      // Not a user id: no balances can exist (and the id is not worth a query).
      if (!isUserId(id))
        return assets.all().map((asset) => ({
          userId: id,
          currency: asset.symbol,
          decimals: asset.decimals,
          availableUnits: 0n,
          lockedUnits: 0n,
        }));
      return readUserAccounts(db, assets, id);
    },

    async accountEntries(account, limit, cursor) {
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxEntriesPerPage)
        throw apiError('BAD_USER_INPUT', `first must be between 1 and ${maxEntriesPerPage}.`, {
          field: 'first',
        });
      const rows = await readAccountEntries(db, account, limit + 1, cursor);
      return { entries: rows.slice(0, limit), hasNextPage: rows.length > limit };
    },

    async reconciliation(identity) {
      if (identity.kind === 'anonymous')
        throw apiError('UNAUTHENTICATED', 'Sign in to see the reconciliation.');
      if (identity.role !== 'ADMIN' && identity.role !== 'COMPLIANCE')
        throw apiError('FORBIDDEN', 'The ledger reconciliation is for ADMIN and COMPLIANCE.');
      if (identity.kind !== 'user')
        throw apiError('FORBIDDEN', 'The ledger reconciliation needs a signed-in session, not an API key.');
      const [inputs, custody] = await Promise.all([
        readReconciliationInputs(db, assets),
        options.custody?.read() ??
          Promise.resolve({ known: false as const, note: 'No chain custody source is configured.' }),
      ]);
      return reconcile({ ...inputs, custody });
    },

    async adminAdjustBalance(identity, requestId, input) {
      const actor = requireRole(identity, 'ADMIN');
      if (identity.kind !== 'user') {
        throw apiError('FORBIDDEN', 'Balance adjustments need a signed-in ADMIN session, not an API key.');
      }
      const occurredAt = clock();
      const plan = planAdminAdjustment(input);
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

      const amount = formatDecimal(adjustment.amountUnits, adjustment.decimals);
      try {
        // Keyed by the core's event: a retried audit write for the same adjustment is recorded once.
        await enqueueAudit(db, `adjustment:${moved.eventSeq}`, {
          occurredAt,
          actor: actor.userId,
          actorRole: actor.role,
          action: 'BALANCE_ADJUSTED',
          requestId,
          targetUserId: adjustment.userId,
          details: {
            currency: adjustment.currency,
            amount,
            reason: adjustment.reason,
            eventSeq: String(moved.eventSeq),
            ...(identity.sessionId ? { actorSessionId: identity.sessionId } : {}),
          },
        });
      } catch (error) {
        // The core applied the adjustment; losing its audit record must be loud, not silent.
        logger.error('admin adjustment applied by the core but not audited', {
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
        amount,
        coreEventSeq: moved.eventSeq,
      });
      return {
        userId: adjustment.userId,
        currency: asset.symbol,
        decimals: asset.decimals,
        availableUnits: balance.availableUnits,
        lockedUnits: balance.lockedUnits,
      };
    },
  };
}
