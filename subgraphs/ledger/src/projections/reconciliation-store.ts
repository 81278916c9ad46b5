/**
 * Reads what reconciliation judges, at one projection sequence: the journal, its accounts and the
 * core's reported totals are read in one REPEATABLE READ transaction, and the projection writes
 * all three (and the position) in one transaction per batch, so they are all of the same sequence.
 * The balance check runs in SQL over every stored entry rather than trusting the code that wrote
 * them.
 */
import type { Database } from '@graphex/runtime';
import type { AssetCatalog } from '../domain/core-catalog.ts';
import type { AssetLedgerFigures, BalanceMismatch } from '../domain/reconciliation.ts';
import { coreStream } from './core-balances.ts';

/** How many differing (user, asset) pairs are read at most. */
const maxMismatchRows = 100;
const maxUnbalancedRows = 10;

export interface ReconciliationInputs {
  readonly sequence: number;
  readonly unbalanced: string[];
  readonly assets: AssetLedgerFigures[];
  readonly mismatches: BalanceMismatch[];
}

export async function readReconciliationInputs(
  db: Database,
  catalog: AssetCatalog,
): Promise<ReconciliationInputs> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const position = await tx.query<{ last_sequence: string }>(
      'SELECT last_sequence::text AS last_sequence FROM projection_positions WHERE stream = $1',
      [coreStream],
    );
    const unbalanced = await tx.query<{ event_seq: string; leg: number; currency: string }>(
      `SELECT event_seq::text AS event_seq, leg, currency FROM journal_entries
       GROUP BY event_seq, leg, currency HAVING sum(debit) <> sum(credit)
       ORDER BY event_seq, leg LIMIT $1`,
      [maxUnbalancedRows],
    );
    const sums = await tx.query<{ currency: string; bucket: string; total: string }>(
      'SELECT currency, bucket, sum(balance)::text AS total FROM ledger_accounts GROUP BY currency, bucket',
    );
    const mismatches = await tx.query<{
      user_id: string;
      currency: string;
      ledger_available: string;
      ledger_locked: string;
      core_available: string;
      core_locked: string;
    }>(
      `WITH ledger AS (
         SELECT user_id, currency,
           coalesce(sum(balance) FILTER (WHERE bucket = 'AVAILABLE'), 0) AS available,
           coalesce(sum(balance) FILTER (WHERE bucket <> 'AVAILABLE'), 0) AS locked
         FROM ledger_accounts WHERE owner_kind = 'USER' GROUP BY user_id, currency),
       core AS (
         SELECT b.user_id, a.symbol AS currency, b.available, b.locked
         FROM core_balances b JOIN core_assets a ON a.asset_id = b.asset_id)
       SELECT coalesce(l.user_id, c.user_id) AS user_id, coalesce(l.currency, c.currency) AS currency,
         coalesce(l.available, 0)::text AS ledger_available, coalesce(l.locked, 0)::text AS ledger_locked,
         coalesce(c.available, 0)::text AS core_available, coalesce(c.locked, 0)::text AS core_locked
       FROM ledger l FULL OUTER JOIN core c ON c.user_id = l.user_id AND c.currency = l.currency
       WHERE coalesce(l.available, 0) <> coalesce(c.available, 0) OR coalesce(l.locked, 0) <> coalesce(c.locked, 0)
       ORDER BY 2, 1 LIMIT $1`,
      [maxMismatchRows],
    );
    const total = (currency: string, bucket: string): bigint => {
      const row = sums.rows.find(
        (candidate) => candidate.currency === currency && candidate.bucket === bucket,
      );
      return row ? BigInt(row.total) : 0n;
    };
    return {
      sequence: position.rows[0] ? Number(position.rows[0].last_sequence) : 0,
      unbalanced: unbalanced.rows.map((row) => `${row.event_seq}.${row.leg} ${row.currency}`),
      assets: catalog.all().map((asset) => ({
        currency: asset.symbol,
        decimals: asset.decimals,
        userAvailableUnits: total(asset.symbol, 'AVAILABLE'),
        userLockedUnits: total(asset.symbol, 'LOCKED'),
        pendingWithdrawalUnits: total(asset.symbol, 'WITHDRAWING'),
        feeRevenueUnits: total(asset.symbol, 'FEE_REVENUE'),
        custodyUnits: -total(asset.symbol, 'CUSTODY'),
        adjustmentUnits: -total(asset.symbol, 'ADJUSTMENTS'),
      })),
      mismatches: mismatches.rows.map((row) => ({
        userId: row.user_id,
        currency: row.currency,
        ledgerAvailableUnits: BigInt(row.ledger_available),
        ledgerLockedUnits: BigInt(row.ledger_locked),
        coreAvailableUnits: BigInt(row.core_available),
        coreLockedUnits: BigInt(row.core_locked),
      })),
    };
  });
}
