/**
 * Reconciliation, pure: judges the ledger at one projection sequence against its own rules and
 * against the outside world (DESIGN.md rule 6).
 *
 * - balanced: every journal transaction balances per currency (checked over all stored entries);
 * - conservation, per asset: Σ user (available + locked + withdrawing) + fee revenue = custody
 *   holdings (−CUSTODY: deposits − settled withdrawals) + net admin adjustments (−ADJUSTMENTS);
 * - ledger = core: every user's journal balances equal the totals the core reported at the same
 *   event sequence (`core_balances`, projected in the same transactions);
 * - custody = chain: −CUSTODY equals what the wallets service says the chain holds for users.
 *   Unknown (watcher not configured, wallets unreachable) is null, not a failure.
 * - caught up: the projection's position is at least the core's lastEventSeq read just before the
 *   figures were, so a stalled projection (whose figures agree with themselves, only late) fails.
 *
 * Fee revenue: the core keeps it per asset inside the engine and no CoreClient query exposes it,
 * so it is checked as the Σ of the fees of the core's Trade events (FEE_REVENUE is credited from
 * each Trade, and conservation and ledger = core at each BalanceChanged would break if a fee were
 * booked wrong).
 */

export interface AssetLedgerFigures {
  readonly currency: string;
  readonly decimals: number;
  readonly userAvailableUnits: bigint;
  /** Held by open orders (LOCKED). */
  readonly userLockedUnits: bigint;
  /** Held for withdrawals in flight (WITHDRAWING). */
  readonly pendingWithdrawalUnits: bigint;
  readonly feeRevenueUnits: bigint;
  /** On-chain holdings for users as the journal knows them: −CUSTODY balance. */
  readonly custodyUnits: bigint;
  /** Net admin adjustments (credits − debits to users): −ADJUSTMENTS balance. */
  readonly adjustmentUnits: bigint;
}

export interface BalanceMismatch {
  readonly userId: string;
  readonly currency: string;
  readonly ledgerAvailableUnits: bigint;
  readonly ledgerLockedUnits: bigint;
  readonly coreAvailableUnits: bigint;
  readonly coreLockedUnits: bigint;
}

export type CustodyReport =
  | { readonly known: false; readonly note: string }
  | {
      readonly known: true;
      readonly blockNumber: number;
      /** userCustodyUnits per currency at that block. */
      readonly unitsByCurrency: ReadonlyMap<string, bigint>;
    };

export interface AssetReconciliationReport extends AssetLedgerFigures {
  readonly conservation: boolean;
  readonly ledgerMatchesCore: boolean;
  /** The first few (user, asset) pairs where the journal and the core differ. */
  readonly mismatches: readonly BalanceMismatch[];
  readonly custodyOnChainUnits: bigint | null;
  readonly custodyMatchesChain: boolean | null;
}

export interface LedgerReconciliationReport {
  /** The core event sequence the ledger had projected when the figures were read. */
  readonly sequence: number;
  readonly balanced: boolean;
  /** Up to a few unbalanced transactions, `eventSeq.leg currency`. */
  readonly unbalanced: readonly string[];
  readonly assets: readonly AssetReconciliationReport[];
  /** The chain block the custody figures are of; null when they are unknown. */
  readonly chainBlockNumber: number | null;
  readonly custodyNote: string | null;
  /** The core's lastEventSeq read just before the figures; null when the core was unreachable. */
  readonly coreSequence: number | null;
  /** How many core events the projection had not applied yet (0 when caught up); null when unknown. */
  readonly lagEvents: number | null;
  /** sequence ≥ coreSequence; false when the core's sequence is unknown. */
  readonly caughtUp: boolean;
  readonly ok: boolean;
}

export const maxMismatchesPerAsset = 5;

export function reconcile(input: {
  readonly sequence: number;
  readonly unbalanced: readonly string[];
  readonly assets: readonly AssetLedgerFigures[];
  readonly mismatches: readonly BalanceMismatch[];
  readonly custody: CustodyReport;
  /** The core's lastEventSeq read before the ledger figures; null when the core was unreachable. */
  readonly coreSequence: number | null;
}): LedgerReconciliationReport {
  const { custody } = input;
  const notes: string[] = custody.known ? [] : [custody.note];
  const assets = input.assets.map((figures): AssetReconciliationReport => {
    const mismatches = input.mismatches.filter((m) => m.currency === figures.currency);
    const owed =
      figures.userAvailableUnits +
      figures.userLockedUnits +
      figures.pendingWithdrawalUnits +
      figures.feeRevenueUnits;
    const custodyOnChainUnits = custody.known
      ? (custody.unitsByCurrency.get(figures.currency) ?? null)
      : null;
    if (custody.known && custodyOnChainUnits === null)
      notes.push(`The wallets service reports no custody for ${figures.currency}.`);
    return {
      ...figures,
      conservation: owed === figures.custodyUnits + figures.adjustmentUnits,
      ledgerMatchesCore: mismatches.length === 0,
      mismatches: mismatches.slice(0, maxMismatchesPerAsset),
      custodyOnChainUnits,
      custodyMatchesChain: custodyOnChainUnits === null ? null : custodyOnChainUnits === figures.custodyUnits,
    };
  });
  const balanced = input.unbalanced.length === 0;
  const { coreSequence } = input;
  const caughtUp = coreSequence !== null && input.sequence >= coreSequence;
  return {
    sequence: input.sequence,
    balanced,
    unbalanced: input.unbalanced,
    assets,
    chainBlockNumber: custody.known ? custody.blockNumber : null,
    custodyNote: notes.length === 0 ? null : notes.join(' '),
    coreSequence,
    lagEvents: coreSequence === null ? null : Math.max(0, coreSequence - input.sequence),
    caughtUp,
    ok:
      balanced &&
      caughtUp &&
      assets.every(
        (asset) => asset.conservation && asset.ledgerMatchesCore && asset.custodyMatchesChain !== false,
      ),
  };
}
