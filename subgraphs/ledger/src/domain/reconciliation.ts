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
  readonly ok: boolean;
}

export const maxMismatchesPerAsset = 5;

export function reconcile(input: {
  readonly sequence: number;
  readonly unbalanced: readonly string[];
  readonly assets: readonly AssetLedgerFigures[];
  readonly mismatches: readonly BalanceMismatch[];
  readonly custody: CustodyReport;
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
  return {
    sequence: input.sequence,
    balanced,
    unbalanced: input.unbalanced,
    assets,
    chainBlockNumber: custody.known ? custody.blockNumber : null,
    custodyNote: notes.length === 0 ? null : notes.join(' '),
    ok:
      balanced &&
      assets.every(
        (asset) => asset.conservation && asset.ledgerMatchesCore && asset.custodyMatchesChain !== false,
      ),
  };
}
