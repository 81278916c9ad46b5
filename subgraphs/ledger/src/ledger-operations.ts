/**
 * Ledger use cases. Balances live in the matching core (DESIGN.md rule 1); the ledger journals
 * every core event (`projections/core-projection.ts`):
 *
 * - `userAccounts`, `accountEntries`: the journal's balances and entries of a user.
 * - `adminAdjustBalance` (ADMIN): validated here, then the core's AdminAdjust command. A refusal
 *   (INSUFFICIENT_FUNDS) changes nothing anywhere. The journal books it from the core's FundsMoved
 *   event like any other movement; the mutation answers with the balance the core reported
 *   (read-your-writes). An intent (who, why, what) is stored BEFORE the command is submitted; the
 *   journal projection audits the adjustment (BALANCE_ADJUSTED through the audit outbox, keyed by
 *   the FundsMoved event's sequence) in the transaction that books it, so an adjustment the core
 *   applied is never left unaudited. An optional idempotency key per admin answers a retry with the
 *   first answer.
 * - `reconciliation` (ADMIN, COMPLIANCE): the ledger against its rules, the core and the chain.
 */
import { randomUUID } from 'node:crypto';
import {
  formatDecimal,
  requireRole,
  type Database,
  type Identity,
  type Logger,
  type ProjectionRunner,
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
import {
  idempotencyKeyProblem,
  planAdminAdjustment,
  type AdminAdjustment,
  type AdminAdjustmentInput,
} from './domain/admin-adjustment.ts';
import type { AssetCatalog } from './domain/core-catalog.ts';
import { reconcile, type LedgerReconciliationReport } from './domain/reconciliation.ts';
import {
  readAccountEntries,
  readUserAccounts,
  type EntryCursor,
  type EntryPage,
} from './projections/journal-store.ts';
import { readReconciliationInputs } from './projections/reconciliation-store.ts';
import {
  findIntentByKey,
  forgetRefusedIntent,
  recordAdjustmentIntent,
  recordIntentAnswer,
  type StoredIntent,
} from './projections/adjustment-intents.ts';

export interface LedgerOperationsOptions {
  readonly db: Database;
  readonly core: CoreClient;
  readonly assets: AssetCatalog;
  readonly logger: Logger;
  /** What the chain holds for users; absent = not configured (custody vs chain is unknown). */
  readonly custody?: CustodySource;
  readonly clock?: () => Date;
  /**
   * The journal projection. Given, a balance read first lets it apply everything the core has
   * logged (it may hold a batch back for up to its linger): a balance read after a trade or an
   * adjustment shows it.
   */
  readonly projection?: Pick<ProjectionRunner, 'waitFor'>;
}

/**
 * Longest a balance read waits for the projection to reach the core. Past it, or with the core
 * unreachable, the read model's balances are served as they are: reads stay available.
 */
export const freshReadWaitMs = 1_000;

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

  /** Waits (bounded) until the projection applied what the core logged so far; never throws. */
  async function caughtUpWithCore(): Promise<void> {
    const { projection } = options;
    if (!projection) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = performance.now() + freshReadWaitMs;
      const last = await Promise.race([
        core.lastEventSeq(),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), freshReadWaitMs))),
      ]);
      clearTimeout(timer);
      if (last === null) return;
      await projection.waitFor(last, Math.max(1, deadline - performance.now()));
    } catch (error) {
      clearTimeout(timer);
      logger.debug('balance read served from a projection that has not reached the core', { error });
    }
  }

  /**
   * The answer to a request whose idempotency key the same admin used before: the first answer, or
   * IDEMPOTENCY_KEY_REUSED when it asked for something else. Never a second adjustment.
   */
  async function replay(earlier: StoredIntent, adjustment: AdminAdjustment): Promise<UserAccountBalance> {
    if (
      earlier.userId !== adjustment.userId ||
      earlier.currency !== adjustment.currency ||
      earlier.amountUnits !== adjustment.amountUnits ||
      earlier.reason !== adjustment.reason
    )
      throw apiError(
        'IDEMPOTENCY_KEY_REUSED',
        'This idempotencyKey was already used for a different adjustment (user, currency, amount or reason). Nothing changed; use a new key.',
      );
    const base = { userId: earlier.userId, currency: adjustment.currency, decimals: adjustment.decimals };
    if (earlier.answer) return { ...base, ...earlier.answer };
    // Applied (the journal booked it) but its first request died before answering: the balance now.
    if (earlier.eventSeq !== null) {
      const accounts = await readUserAccounts(db, assets, earlier.userId);
      const account = accounts.find((candidate) => candidate.currency === adjustment.currency);
      if (account) return account;
    }
    throw apiError(
      'SERVICE_UNAVAILABLE',
      'The first request with this idempotencyKey has no outcome yet; nothing new was adjusted. Retry later.',
    );
  }

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
      await caughtUpWithCore();
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
      // Read before the ledger's figures: a projection at or past it was caught up when they were read.
      let coreSequence: number | null = null;
      try {
        coreSequence = await core.lastEventSeq();
      } catch (error) {
        logger.warn('core unreachable for the reconciliation; caughtUp is unknown', { error });
      }
      const [inputs, custody] = await Promise.all([
        readReconciliationInputs(db, assets),
        options.custody?.read() ??
          Promise.resolve({ known: false as const, note: 'No chain custody source is configured.' }),
      ]);
      return reconcile({ ...inputs, custody, coreSequence });
    },

    async adminAdjustBalance(identity, requestId, input) {
      const actor = requireRole(identity, 'ADMIN');
      if (identity.kind !== 'user') {
        throw apiError('FORBIDDEN', 'Balance adjustments need a signed-in ADMIN session, not an API key.');
      }
      const requestedAt = clock();
      const plan = planAdminAdjustment(input);
      if (!plan.ok) throw apiError('BAD_USER_INPUT', plan.message, { field: plan.field });
      const { adjustment } = plan;
      const asset = assets.bySymbol(adjustment.currency);
      if (!asset || asset.decimals !== adjustment.decimals)
        throw apiError('BAD_USER_INPUT', `The matching core does not list ${adjustment.currency}.`, {
          field: 'currency',
        });
      const idempotencyKey = input.idempotencyKey ?? null;
      if (idempotencyKey !== null) {
        const problem = idempotencyKeyProblem(idempotencyKey);
        if (problem) throw apiError('BAD_USER_INPUT', problem, { field: 'idempotencyKey' });
        const earlier = await findIntentByKey(db, actor.userId, idempotencyKey);
        if (earlier) return replay(earlier, adjustment);
      }

      let afterEventSeq: number;
      try {
        afterEventSeq = await core.lastEventSeq();
      } catch (error) {
        logger.error('core unreachable before an admin adjustment', { error });
        throw apiError('SERVICE_UNAVAILABLE', 'The matching core is unavailable; nothing was adjusted.');
      }
      // The intent is durable before the core hears of the adjustment: whatever happens next, the
      // projection that books the core's FundsMoved event audits it with who asked and why.
      const adjustmentId = randomUUID();
      const recorded = await recordAdjustmentIntent(db, {
        adjustmentId,
        actorUserId: actor.userId,
        actorRole: actor.role,
        actorSessionId: identity.sessionId,
        requestId,
        idempotencyKey,
        userId: adjustment.userId,
        currency: asset.symbol,
        assetId: asset.assetId,
        amountUnits: adjustment.amountUnits,
        reason: adjustment.reason,
        afterEventSeq,
        requestedAt,
      });
      if (recorded.kind === 'existing') return replay(recorded.intent, adjustment);

      let outcome;
      try {
        outcome = await core.submit({
          type: 'AdminAdjust',
          userId: adjustment.userId,
          assetId: asset.assetId,
          amountUnits: adjustment.amountUnits,
        });
      } catch (error) {
        // Unknown outcome: if the core applied it, the projection books and audits it.
        logger.error('core submit failed; the adjustment is audited if the core applied it', {
          error,
          adjustmentId,
        });
        throw apiError(
          'SERVICE_UNAVAILABLE',
          'The matching core did not answer; the adjustment may or may not be applied. Check the balance, or retry with the same idempotencyKey.',
        );
      }
      const { code } = outcome.result;
      if (code !== ResultCode.OK) {
        await forgetRefusedIntent(db, adjustmentId);
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
      await recordIntentAnswer(db, adjustmentId, balance.availableUnits, balance.lockedUnits);
      logger.info('admin balance adjustment', {
        adjustmentId,
        actorUserId: actor.userId,
        targetUserId: adjustment.userId,
        currency: adjustment.currency,
        amount: formatDecimal(adjustment.amountUnits, adjustment.decimals),
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
