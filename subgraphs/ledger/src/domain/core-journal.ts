/**
 * The money trail, pure: turns the matching core's events into balanced journal transactions
 * (DESIGN.md rule 6). Each transaction comes from one event (`eventSeq`, `leg`), so booking is
 * idempotent by event sequence and a replay from event 0 rebuilds the same journal whatever the
 * batch boundaries were.
 *
 * | event                         | kind               | entries                                                  |
 * |-------------------------------|--------------------|----------------------------------------------------------|
 * | FundsMoved DEPOSIT            | DEPOSIT            | Dr CUSTODY, Cr user AVAILABLE                            |
 * | FundsMoved WITHDRAW_HOLD      | WITHDRAWAL_HOLD    | Dr AVAILABLE, Cr WITHDRAWING                             |
 * | FundsMoved WITHDRAW_SETTLE    | WITHDRAWAL_SETTLE  | Dr WITHDRAWING, Cr CUSTODY                               |
 * | FundsMoved WITHDRAW_RELEASE   | WITHDRAWAL_RELEASE | Dr WITHDRAWING, Cr AVAILABLE                             |
 * | FundsMoved ADMIN_ADJUST (±)   | ADMIN_ADJUSTMENT   | Dr ADJUSTMENTS, Cr AVAILABLE (or the reverse)            |
 * | OrderAccepted (holdUnits)     | ORDER_HOLD         | Dr AVAILABLE, Cr LOCKED in the asset the order spends    |
 * | Trade                         | TRADE              | buyer: Dr LOCKED quote, Cr AVAILABLE base − buyer fee;   |
 * |                               |                    | seller: Dr LOCKED base, Cr AVAILABLE quote − seller fee; |
 * |                               |                    | Cr FEE_REVENUE both fees                                 |
 * | BalanceChanged                | ORDER_HOLD/RELEASE | the residual, see below                                  |
 *
 * Holds the events do not spell out — a buy's hold trimmed after a fill, price-improvement
 * leftovers, cancels, expiries, amendments — are the residual at the command's BalanceChanged
 * totals: core available − ledger AVAILABLE must be the exact opposite of core locked − ledger
 * (LOCKED + WITHDRAWING), and is booked between AVAILABLE and LOCKED. Anything else means the
 * core and the ledger disagree: `CoreJournalError`, never silently booked. After the residual the
 * ledger equals the core's totals for that user and asset (asserted).
 *
 * Two events need care so no user account ever dips below zero mid-command:
 * - an immediate-or-kill (FOK) order is accepted before the core checks it can fill, and an
 *   unfillable one expires without holding anything; so a FOK order's hold is not booked at
 *   acceptance (the residual or the trade books it);
 * - a trade may spend a hold the events have not shown yet (a FOK order, an amendment that raised
 *   the hold): the shortfall is moved AVAILABLE → LOCKED first as an ORDER_HOLD leg of that trade.
 */
import type { PublicCoreEvent } from '@graphex/schema';
import { ledgerAccountKey, type LedgerAccountRef, type UserBucket } from './accounts.ts';
import type { AssetCatalog } from './core-catalog.ts';
import {
  applyJournal,
  type AccountState,
  type AppliedEntry,
  type JournalEntry,
  type JournalKind,
  type JournalTransaction,
} from './journal.ts';

/** The core and the ledger disagree, or an event cannot be interpreted: the projection stops. */
export class CoreJournalError extends Error {
  override name = 'CoreJournalError';
}

export interface PostedTransaction extends JournalTransaction {
  readonly applied: readonly AppliedEntry[];
}

export interface JournalBatch {
  readonly transactions: readonly PostedTransaction[];
  /** Every account the batch changed: its state before the batch and after it. */
  readonly accounts: ReadonlyMap<
    string,
    { readonly ref: LedgerAccountRef; readonly before: AccountState; readonly after: AccountState }
  >;
}

type CoreEventOf<T extends PublicCoreEvent['type']> = Extract<PublicCoreEvent, { type: T }>;

const user = (userId: string, currency: string, bucket: UserBucket): LedgerAccountRef => ({
  kind: 'user',
  userId,
  currency,
  bucket,
});
const feeRevenue = (currency: string): LedgerAccountRef => ({
  kind: 'system',
  name: 'FEE_REVENUE',
  currency,
});
const custody = (currency: string): LedgerAccountRef => ({ kind: 'system', name: 'CUSTODY', currency });
const adjustments = (currency: string): LedgerAccountRef => ({
  kind: 'system',
  name: 'ADJUSTMENTS',
  currency,
});

function currencyOf(catalog: AssetCatalog, assetId: number, eventSeq: number): string {
  const asset = catalog.byId(assetId);
  if (!asset)
    throw new CoreJournalError(`Event ${eventSeq} names asset ${assetId}, which the core never added.`);
  return asset.symbol;
}

function marketOf(catalog: AssetCatalog, marketId: number, eventSeq: number) {
  const market = catalog.market(marketId);
  if (!market)
    throw new CoreJournalError(`Event ${eventSeq} names market ${marketId}, which the core never added.`);
  return {
    base: currencyOf(catalog, market.baseAssetId, eventSeq),
    quote: currencyOf(catalog, market.quoteAssetId, eventSeq),
  };
}

/** Whether an OrderAccepted's hold is certainly taken at acceptance (see the module comment). */
function holdsAtAcceptance(event: CoreEventOf<'OrderAccepted'>): boolean {
  return event.timeInForce !== 'FOK' || event.status === 'PENDING_TRIGGER';
}

/**
 * Every ledger account the events can touch, by key: all three buckets of each (user, asset) the
 * events name and the system accounts of each asset money enters, leaves or earns fees in. The
 * caller loads (and locks) these first.
 */
export function accountsTouchedBy(
  events: readonly PublicCoreEvent[],
  catalog: AssetCatalog,
): Map<string, LedgerAccountRef> {
  const refs = new Map<string, LedgerAccountRef>();
  const addUser = (userId: string, currency: string) => {
    for (const bucket of ['AVAILABLE', 'LOCKED', 'WITHDRAWING'] as const) {
      const ref = user(userId, currency, bucket);
      refs.set(ledgerAccountKey(ref), ref);
    }
  };
  const addSystem = (currency: string) => {
    for (const ref of [feeRevenue(currency), custody(currency), adjustments(currency)])
      refs.set(ledgerAccountKey(ref), ref);
  };
  for (const event of events) {
    switch (event.type) {
      case 'FundsMoved': {
        const currency = currencyOf(catalog, event.assetId, event.eventSeq);
        addUser(event.userId, currency);
        addSystem(currency);
        break;
      }
      case 'BalanceChanged':
        // The residual moves only between the user's own buckets.
        addUser(event.userId, currencyOf(catalog, event.assetId, event.eventSeq));
        break;
      case 'OrderAccepted': {
        const { base, quote } = marketOf(catalog, event.marketId, event.eventSeq);
        addUser(event.userId, event.side === 'BUY' ? quote : base);
        break;
      }
      case 'Trade': {
        const { base, quote } = marketOf(catalog, event.marketId, event.eventSeq);
        for (const userId of [event.makerUserId, event.takerUserId]) {
          addUser(userId, base);
          addUser(userId, quote);
        }
        addSystem(base);
        addSystem(quote);
        break;
      }
      default:
        break;
    }
  }
  return refs;
}

interface Draft {
  readonly kind: JournalKind;
  readonly description: string;
  readonly entries: readonly JournalEntry[];
}

const entry = (account: LedgerAccountRef, side: 'DEBIT' | 'CREDIT', amountUnits: bigint): JournalEntry => ({
  account,
  side,
  amountUnits,
});

/** A transfer of `amountUnits` from `from` (debited) to `to` (credited). */
const transfer = (
  kind: JournalKind,
  description: string,
  from: LedgerAccountRef,
  to: LedgerAccountRef,
  amountUnits: bigint,
): Draft => ({
  kind,
  description,
  entries: [entry(from, 'DEBIT', amountUnits), entry(to, 'CREDIT', amountUnits)],
});

function fundsMovedDraft(event: CoreEventOf<'FundsMoved'>, currency: string): Draft {
  const { userId, amountUnits, withdrawalId } = event;
  const available = user(userId, currency, 'AVAILABLE');
  const withdrawing = user(userId, currency, 'WITHDRAWING');
  if (event.kind !== 'ADMIN_ADJUST' && amountUnits <= 0n)
    throw new CoreJournalError(`FundsMoved ${event.eventSeq} ${event.kind} has a non-positive amount.`);
  switch (event.kind) {
    case 'DEPOSIT':
      return transfer('DEPOSIT', `Deposit of ${currency}`, custody(currency), available, amountUnits);
    case 'WITHDRAW_HOLD':
      return transfer(
        'WITHDRAWAL_HOLD',
        `Withdrawal ${withdrawalId} held`,
        available,
        withdrawing,
        amountUnits,
      );
    case 'WITHDRAW_SETTLE':
      return transfer(
        'WITHDRAWAL_SETTLE',
        `Withdrawal ${withdrawalId} sent on chain`,
        withdrawing,
        custody(currency),
        amountUnits,
      );
    case 'WITHDRAW_RELEASE':
      return transfer(
        'WITHDRAWAL_RELEASE',
        `Withdrawal ${withdrawalId} released`,
        withdrawing,
        available,
        amountUnits,
      );
    case 'ADMIN_ADJUST':
      if (amountUnits === 0n) throw new CoreJournalError(`FundsMoved ${event.eventSeq} adjusts by zero.`);
      return amountUnits > 0n
        ? transfer('ADMIN_ADJUSTMENT', 'Admin credit', adjustments(currency), available, amountUnits)
        : transfer('ADMIN_ADJUSTMENT', 'Admin debit', available, adjustments(currency), -amountUnits);
  }
}

function tradeDraft(event: CoreEventOf<'Trade'>, base: string, quote: string): Draft {
  const takerBuys = event.takerSide === 'BUY';
  const buyer = takerBuys ? event.takerUserId : event.makerUserId;
  const seller = takerBuys ? event.makerUserId : event.takerUserId;
  // Fees are charged in the asset each side receives: the buyer's in base, the seller's in quote.
  const buyerFee = takerBuys ? event.takerFeeUnits : event.makerFeeUnits;
  const sellerFee = takerBuys ? event.makerFeeUnits : event.takerFeeUnits;
  if (
    event.baseUnits <= 0n ||
    event.quoteUnits <= 0n ||
    buyerFee < 0n ||
    sellerFee < 0n ||
    buyerFee > event.baseUnits ||
    sellerFee > event.quoteUnits
  )
    throw new CoreJournalError(`Trade ${event.tradeId} (event ${event.eventSeq}) has impossible amounts.`);
  const entries = [
    entry(user(buyer, quote, 'LOCKED'), 'DEBIT', event.quoteUnits),
    entry(user(buyer, base, 'AVAILABLE'), 'CREDIT', event.baseUnits - buyerFee),
    entry(user(seller, base, 'LOCKED'), 'DEBIT', event.baseUnits),
    entry(user(seller, quote, 'AVAILABLE'), 'CREDIT', event.quoteUnits - sellerFee),
    entry(feeRevenue(base), 'CREDIT', buyerFee),
    entry(feeRevenue(quote), 'CREDIT', sellerFee),
  ].filter((candidate) => candidate.amountUnits > 0n);
  return {
    kind: 'TRADE',
    description: `Trade ${event.tradeId}: orders ${event.makerOrderId} (maker) and ${event.takerOrderId} (taker)`,
    entries,
  };
}

/**
 * Books `events` (consecutive core events) against the current account states (missing = zero,
 * version 0; at least every account `accountsTouchedBy` names). Throws `CoreJournalError` when the
 * core and the ledger disagree.
 */
export function journalCoreEvents(
  events: readonly PublicCoreEvent[],
  current: ReadonlyMap<string, AccountState>,
  catalog: AssetCatalog,
): JournalBatch {
  const state = new Map<string, AccountState>();
  const changed = new Map<string, { ref: LedgerAccountRef; before: AccountState; after: AccountState }>();
  const transactions: PostedTransaction[] = [];
  const stateOf = (key: string): AccountState =>
    state.get(key) ?? current.get(key) ?? { balanceUnits: 0n, version: 0n };
  const balanceOf = (ref: LedgerAccountRef): bigint => stateOf(ledgerAccountKey(ref)).balanceUnits;

  // (user, asset) pairs the current command moved and the pairs it reported totals for.
  let commandSeq = -1;
  const moved = new Set<string>();
  const reported = new Set<string>();
  const checkCommandComplete = (): void => {
    for (const pair of moved)
      if (!reported.has(pair))
        throw new CoreJournalError(
          `Command ${commandSeq} moved ${pair} but reported no BalanceChanged for it.`,
        );
    moved.clear();
    reported.clear();
  };

  const post = (event: PublicCoreEvent, leg: number, draft: Draft): void => {
    const outcome = applyJournal(
      new Map(
        draft.entries.map(({ account }) => [ledgerAccountKey(account), stateOf(ledgerAccountKey(account))]),
      ),
      draft.entries,
    );
    if (!outcome.ok)
      throw new CoreJournalError(
        `Event ${event.eventSeq} (${draft.kind}) would take ${ledgerAccountKey(outcome.account)} below zero by ${outcome.shortfallUnits}: the core and the ledger disagree.`,
      );
    for (const [key, { before, after }] of outcome.accounts) {
      state.set(key, after);
      const known = changed.get(key);
      const ref = draft.entries.find(({ account }) => ledgerAccountKey(account) === key)!.account;
      changed.set(key, { ref, before: known?.before ?? before, after });
    }
    for (const { account } of draft.entries)
      if (account.kind === 'user') moved.add(`${account.userId}/${account.currency}`);
    transactions.push({
      eventSeq: event.eventSeq,
      leg,
      commandSeq: event.seq,
      kind: draft.kind,
      description: draft.description,
      occurredAt: new Date(event.timeMs),
      entries: draft.entries,
      applied: outcome.entries,
    });
  };

  for (const event of events) {
    if (event.seq !== commandSeq) {
      if (commandSeq !== -1) checkCommandComplete();
      commandSeq = event.seq;
    }
    switch (event.type) {
      case 'FundsMoved':
        post(event, 0, fundsMovedDraft(event, currencyOf(catalog, event.assetId, event.eventSeq)));
        break;
      case 'OrderAccepted': {
        if (!holdsAtAcceptance(event)) break;
        const { base, quote } = marketOf(catalog, event.marketId, event.eventSeq);
        const currency = event.side === 'BUY' ? quote : base;
        post(
          event,
          0,
          transfer(
            'ORDER_HOLD',
            `Order ${event.orderId} hold`,
            user(event.userId, currency, 'AVAILABLE'),
            user(event.userId, currency, 'LOCKED'),
            event.holdUnits,
          ),
        );
        break;
      }
      case 'Trade': {
        const { base, quote } = marketOf(catalog, event.marketId, event.eventSeq);
        const draft = tradeDraft(event, base, quote);
        let leg = 0;
        // Holds the events have not shown yet are moved to LOCKED before the trade spends them.
        const spent = new Map<string, { ref: LedgerAccountRef; units: bigint }>();
        for (const { account, side, amountUnits } of draft.entries) {
          if (side !== 'DEBIT') continue;
          const key = ledgerAccountKey(account);
          spent.set(key, { ref: account, units: (spent.get(key)?.units ?? 0n) + amountUnits });
        }
        for (const { ref, units } of spent.values()) {
          if (ref.kind !== 'user') continue;
          const shortfall = units - balanceOf(ref);
          if (shortfall <= 0n) continue;
          post(
            event,
            leg++,
            transfer(
              'ORDER_HOLD',
              `Hold for trade ${event.tradeId}`,
              user(ref.userId, ref.currency, 'AVAILABLE'),
              ref,
              shortfall,
            ),
          );
        }
        post(event, leg, draft);
        break;
      }
      case 'BalanceChanged': {
        const currency = currencyOf(catalog, event.assetId, event.eventSeq);
        const available = user(event.userId, currency, 'AVAILABLE');
        const locked = user(event.userId, currency, 'LOCKED');
        const withdrawing = user(event.userId, currency, 'WITHDRAWING');
        const availableDelta = event.availableUnits - balanceOf(available);
        const lockedDelta = event.lockedUnits - (balanceOf(locked) + balanceOf(withdrawing));
        if (availableDelta + lockedDelta !== 0n)
          throw new CoreJournalError(
            `BalanceChanged ${event.eventSeq} (command ${event.seq}) for ${event.userId} ${currency}: the core reports available ${event.availableUnits} / locked ${event.lockedUnits}, the journal ${balanceOf(available)} / ${balanceOf(locked) + balanceOf(withdrawing)} — a difference that is not a hold.`,
          );
        if (availableDelta < 0n)
          post(
            event,
            0,
            transfer('ORDER_HOLD', `Order holds of command ${event.seq}`, available, locked, -availableDelta),
          );
        else if (availableDelta > 0n)
          post(
            event,
            0,
            transfer(
              'ORDER_RELEASE',
              `Order holds released by command ${event.seq}`,
              locked,
              available,
              availableDelta,
            ),
          );
        if (
          balanceOf(available) !== event.availableUnits ||
          balanceOf(locked) + balanceOf(withdrawing) !== event.lockedUnits
        )
          throw new CoreJournalError(
            `BalanceChanged ${event.eventSeq}: the journal does not equal the core's totals.`,
          );
        reported.add(`${event.userId}/${currency}`);
        break;
      }
      default:
        break;
    }
  }
  // The last command of a batch may continue in the next batch, so it is not checked here.
  return { transactions, accounts: changed };
}
