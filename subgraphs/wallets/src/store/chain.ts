/**
 * Chain-watcher persistence: scanned blocks and the cursor, deposits found on chain with their
 * credit state, and the status history of transactions. Every state change of a deposit and its
 * history entry are written in one database transaction.
 */
import { enqueueAudit, formatDecimal, type Database, type Queryable } from '@graphex/runtime';
import { assetSpec } from '@graphex/schema';
import { canTransition, type DepositStatus } from '../domain/deposit.ts';
import { recordTransaction } from './wallets.ts';

export type Chain = 'ethereum';

export interface BlockRef {
  readonly number: number;
  readonly hash: string;
}

export interface ScannedBlock extends BlockRef {
  readonly parentHash: string;
}

/** A deposit seen in a block: (txHash, logIndex) identifies it on the chain. */
export interface FoundDeposit {
  readonly transactionId: string;
  readonly userId: string;
  readonly currency: string;
  readonly amountBaseUnits: bigint;
  readonly address: string;
  readonly txHash: string;
  readonly logIndex: number;
}

/**
 * ETH or USDT sent to the hot wallet from outside our own flows (operator funding, positive), or
 * spent by it outside a withdrawal (negative: value and gas).
 */
export interface HotWalletFunding {
  readonly txHash: string;
  readonly logIndex: number;
  readonly currency: string;
  readonly amountBaseUnits: bigint;
}

export interface ChainDepositRow {
  readonly transactionId: string;
  readonly userId: string;
  readonly currency: string;
  readonly amountBaseUnits: bigint;
  readonly status: DepositStatus;
  readonly txHash: string;
  readonly logIndex: number;
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly confirmations: number;
  readonly creditState: 'NONE' | 'SUBMITTING' | 'CREDITED' | 'REJECTED';
  readonly creditAfterEventSeq: number | null;
  readonly coreSeq: number | null;
  readonly coreEventSeq: number | null;
}

interface DepositDbRow {
  transaction_id: string;
  user_id: string;
  currency: string;
  amount_base_units: string;
  status: DepositStatus;
  tx_hash: string;
  log_index: number;
  block_number: string;
  block_hash: string;
  confirmations: number;
  credit_state: ChainDepositRow['creditState'];
  credit_after_event_seq: string | null;
  core_seq: string | null;
  core_event_seq: string | null;
}

const depositSelect = `SELECT d.transaction_id, t.user_id, t.currency, t.amount_base_units::text AS amount_base_units,
  t.status, d.tx_hash, d.log_index, d.block_number::text AS block_number, d.block_hash, t.confirmations,
  d.credit_state, d.credit_after_event_seq::text AS credit_after_event_seq, d.core_seq::text AS core_seq,
  d.core_event_seq::text AS core_event_seq
  FROM chain_deposits d JOIN transactions t ON t.id = d.transaction_id`;

const nullableNumber = (value: string | null): number | null => (value === null ? null : Number(value));

const toDeposit = (row: DepositDbRow): ChainDepositRow => ({
  transactionId: row.transaction_id,
  userId: row.user_id,
  currency: row.currency,
  amountBaseUnits: BigInt(row.amount_base_units),
  status: row.status,
  txHash: row.tx_hash,
  logIndex: Number(row.log_index),
  blockNumber: Number(row.block_number),
  blockHash: row.block_hash,
  confirmations: Number(row.confirmations),
  creditState: row.credit_state,
  creditAfterEventSeq: nullableNumber(row.credit_after_event_seq),
  coreSeq: nullableNumber(row.core_seq),
  coreEventSeq: nullableNumber(row.core_event_seq),
});

/** Appends one status-history entry (positions are contiguous per transaction); returns its position. */
export async function appendStatusHistory(
  tx: Queryable,
  transactionId: string,
  status: string,
  blockNumber: number | null,
  confirmations: number,
): Promise<number> {
  const result = await tx.query<{ position: number }>(
    `INSERT INTO transaction_status_history (transaction_id, position, status, block_number, confirmations)
     SELECT $1, COALESCE(MAX(position) + 1, 0), $2, $3, $4 FROM transaction_status_history WHERE transaction_id = $1
     RETURNING position`,
    [transactionId, status, blockNumber, confirmations],
  );
  return Number(result.rows[0]!.position);
}

export interface StatusChange {
  readonly status: string;
  readonly at: Date;
  readonly blockNumber: number | null;
  readonly confirmations: number;
  readonly actor: string | null;
  readonly reason: string | null;
}

export async function statusHistoryOf(db: Queryable, transactionId: string): Promise<StatusChange[]> {
  const result = await db.query<{
    status: string;
    at: Date | string;
    block_number: string | null;
    confirmations: number;
    actor: string | null;
    reason: string | null;
  }>(
    `SELECT status, at, block_number::text AS block_number, confirmations, actor, reason FROM transaction_status_history
     WHERE transaction_id = $1 ORDER BY position LIMIT 1000`,
    [transactionId],
  );
  return result.rows.map((row) => ({
    status: row.status,
    at: new Date(row.at),
    blockNumber: nullableNumber(row.block_number),
    confirmations: Number(row.confirmations),
    actor: row.actor,
    reason: row.reason,
  }));
}

export async function readCursor(db: Queryable, chain: Chain): Promise<BlockRef | null> {
  const result = await db.query<{ block_number: string; block_hash: string }>(
    'SELECT block_number::text AS block_number, block_hash FROM chain_cursor WHERE chain = $1',
    [chain],
  );
  const row = result.rows[0];
  return row ? { number: Number(row.block_number), hash: row.block_hash } : null;
}

export async function storedBlockHash(
  db: Queryable,
  chain: Chain,
  blockNumber: number,
): Promise<string | null> {
  const result = await db.query<{ block_hash: string }>(
    'SELECT block_hash FROM chain_blocks WHERE chain = $1 AND block_number = $2',
    [chain, blockNumber],
  );
  return result.rows[0]?.block_hash ?? null;
}

/** Stored block numbers from `below` downwards, newest first (the window to search a fork point in). */
export async function storedBlocksBelow(
  db: Queryable,
  chain: Chain,
  below: number,
  limit: number,
): Promise<BlockRef[]> {
  // Order by the bigint column, not by its text alias (ORDER BY prefers output names).
  const result = await db.query<{ block_number: string; block_hash: string }>(
    `SELECT b.block_number::text AS block_number, b.block_hash FROM chain_blocks b
     WHERE b.chain = $1 AND b.block_number < $2 ORDER BY b.block_number DESC LIMIT $3`,
    [chain, below, limit],
  );
  return result.rows.map((row) => ({ number: Number(row.block_number), hash: row.block_hash }));
}

/** Owners of deposit addresses among `addresses` (lower-case in, lower-case keys out). */
export async function depositAddressOwners(
  db: Queryable,
  chain: Chain,
  addresses: readonly string[],
): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  if (addresses.length === 0) return owners;
  const result = await db.query<{ address: string; user_id: string }>(
    `SELECT lower(address) AS address, user_id FROM deposit_addresses
     WHERE chain = $1 AND lower(address) = ANY($2::text[])`,
    [chain, [...new Set(addresses)]],
  );
  for (const row of result.rows) owners.set(row.address, row.user_id);
  return owners;
}

/**
 * Records one scanned block: its deposits (new ones PENDING; an ORPHANED one seen again in the new
 * branch back to PENDING in its new block), the block's hash, and the cursor, all at once, so a
 * restart resumes exactly after the last block whose deposits are stored.
 */
export async function applyScannedBlock(
  db: Database,
  chain: Chain,
  block: ScannedBlock,
  deposits: readonly FoundDeposit[],
  headNumber: number,
  fundings: readonly HotWalletFunding[] = [],
): Promise<void> {
  await db.transaction(async (tx) => {
    for (const funding of fundings) {
      await tx.query(
        `INSERT INTO hot_wallet_fundings (chain, tx_hash, log_index, currency, amount_base_units, block_number)
         VALUES ($1, $2, $3, $4, $5::numeric, $6)
         ON CONFLICT (chain, tx_hash, log_index) DO UPDATE SET block_number = EXCLUDED.block_number`,
        [
          chain,
          funding.txHash,
          funding.logIndex,
          funding.currency,
          funding.amountBaseUnits.toString(),
          block.number,
        ],
      );
    }
    for (const deposit of deposits) {
      const confirmations = Math.max(0, headNumber - block.number + 1);
      const created = await recordTransaction(tx, {
        id: deposit.transactionId,
        userId: deposit.userId,
        type: 'DEPOSIT',
        currency: deposit.currency,
        amountBaseUnits: deposit.amountBaseUnits,
        status: 'PENDING',
        address: deposit.address,
        txHash: deposit.txHash,
        confirmations,
      });
      if (created) {
        await tx.query(
          `INSERT INTO chain_deposits (transaction_id, chain, tx_hash, log_index, block_number, block_hash)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [deposit.transactionId, chain, deposit.txHash, deposit.logIndex, block.number, block.hash],
        );
        await appendStatusHistory(tx, deposit.transactionId, 'PENDING', block.number, confirmations);
        continue;
      }
      const existing = await tx.query<{ status: DepositStatus }>(
        'SELECT status FROM transactions WHERE id = $1 FOR UPDATE',
        [deposit.transactionId],
      );
      const status = existing.rows[0]!.status;
      if (status === 'ORPHANED') {
        await tx.query(
          `UPDATE transactions SET status = 'PENDING', confirmations = $2, updated_at = now() WHERE id = $1`,
          [deposit.transactionId, confirmations],
        );
        await tx.query(
          'UPDATE chain_deposits SET block_number = $2, block_hash = $3 WHERE transaction_id = $1',
          [deposit.transactionId, block.number, block.hash],
        );
        await appendStatusHistory(tx, deposit.transactionId, 'PENDING', block.number, confirmations);
      }
      // PENDING/CONFIRMED/REJECTED seen again (a rescan of the same block): nothing changes.
    }
    await tx.query(
      `INSERT INTO chain_blocks (chain, block_number, block_hash, parent_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (chain, block_number) DO UPDATE SET block_hash = EXCLUDED.block_hash, parent_hash = EXCLUDED.parent_hash`,
      [chain, block.number, block.hash, block.parentHash],
    );
    await setCursor(tx, chain, block);
  });
}

async function setCursor(tx: Queryable, chain: Chain, block: BlockRef): Promise<void> {
  await tx.query(
    `INSERT INTO chain_cursor (chain, block_number, block_hash) VALUES ($1, $2, $3)
     ON CONFLICT (chain) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, updated_at = now()`,
    [chain, block.number, block.hash],
  );
}

export interface RollbackResult {
  /** Deposits of orphaned blocks that were not yet credited: now ORPHANED. */
  readonly orphaned: readonly string[];
  /** Deposits of orphaned blocks that were already credited (a reorg deeper than the confirmation depth). */
  readonly creditedButOrphaned: readonly string[];
}

/**
 * Rolls the watcher back to `fork` (the newest block still on the canonical chain): deposits in
 * later blocks that were not credited become ORPHANED, later block hashes are forgotten and the
 * cursor moves to `fork`, so the next poll rescans the new branch.
 */
export async function rollbackTo(db: Database, chain: Chain, fork: BlockRef): Promise<RollbackResult> {
  return db.transaction(async (tx) => {
    const affected = await tx.query<DepositDbRow>(
      `${depositSelect} WHERE d.chain = $1 AND d.block_number > $2 ORDER BY d.block_number, d.transaction_id FOR UPDATE OF d`,
      [chain, fork.number],
    );
    const orphaned: string[] = [];
    const creditedButOrphaned: string[] = [];
    for (const row of affected.rows.map(toDeposit)) {
      if (row.status === 'PENDING' && row.creditState === 'NONE') {
        await tx.query(
          `UPDATE transactions SET status = 'ORPHANED', confirmations = 0, updated_at = now() WHERE id = $1`,
          [row.transactionId],
        );
        await appendStatusHistory(tx, row.transactionId, 'ORPHANED', row.blockNumber, 0);
        orphaned.push(row.transactionId);
      } else if (row.status !== 'ORPHANED') {
        creditedButOrphaned.push(row.transactionId);
      }
    }
    await tx.query('DELETE FROM chain_blocks WHERE chain = $1 AND block_number > $2', [chain, fork.number]);
    await tx.query('DELETE FROM hot_wallet_fundings WHERE chain = $1 AND block_number > $2', [
      chain,
      fork.number,
    ]);
    await setCursor(tx, chain, fork);
    return { orphaned, creditedButOrphaned };
  });
}

/** Sets the confirmations of PENDING deposits from the verified head (the cursor's block). */
export async function refreshConfirmations(db: Queryable, chain: Chain, headNumber: number): Promise<void> {
  await db.query(
    `UPDATE transactions t SET confirmations = GREATEST(0, $2 - d.block_number + 1)::integer, updated_at = now()
     FROM chain_deposits d
     WHERE d.transaction_id = t.id AND d.chain = $1 AND t.status = 'PENDING'
       AND t.confirmations <> GREATEST(0, $2 - d.block_number + 1)`,
    [chain, headNumber],
  );
}

/** PENDING deposits with at least `minConfirmations` at `headNumber`, oldest first, not yet submitted. */
export async function depositsReadyToCredit(
  db: Queryable,
  chain: Chain,
  headNumber: number,
  minConfirmations: number,
  limit: number,
): Promise<ChainDepositRow[]> {
  const result = await db.query<DepositDbRow>(
    `${depositSelect} WHERE d.chain = $1 AND t.status = 'PENDING' AND d.credit_state = 'NONE'
       AND d.block_number <= $2 ORDER BY d.block_number, d.log_index, d.transaction_id LIMIT $3`,
    [chain, headNumber - minConfirmations + 1, limit],
  );
  return result.rows.map(toDeposit);
}

export async function findChainDeposit(
  db: Queryable,
  transactionId: string,
): Promise<ChainDepositRow | null> {
  const result = await db.query<DepositDbRow>(`${depositSelect} WHERE d.transaction_id = $1`, [
    transactionId,
  ]);
  return result.rows[0] ? toDeposit(result.rows[0]) : null;
}

export async function listChainDeposits(db: Queryable, chain: Chain): Promise<ChainDepositRow[]> {
  const result = await db.query<DepositDbRow>(
    `${depositSelect} WHERE d.chain = $1 ORDER BY d.block_number, d.log_index, d.transaction_id`,
    [chain],
  );
  return result.rows.map(toDeposit);
}

/** The deposit whose core credit may be in flight (at most one, by a unique index). */
export async function submittingDeposit(db: Queryable, chain: Chain): Promise<ChainDepositRow | null> {
  const result = await db.query<DepositDbRow>(
    `${depositSelect} WHERE d.chain = $1 AND d.credit_state = 'SUBMITTING'`,
    [chain],
  );
  return result.rows[0] ? toDeposit(result.rows[0]) : null;
}

/**
 * Records the intent to credit (before the core command is sent): the deposit is SUBMITTING with
 * the core's last event seq. False when it is no longer PENDING/NONE (nothing changes then).
 */
export async function markSubmitting(
  db: Queryable,
  transactionId: string,
  afterEventSeq: number,
  lease: { readonly owner: string; readonly minRemainingMs: number },
): Promise<boolean> {
  // Only while holding the lease with time to spare: a watcher that lost it never submits.
  const result = await db.query(
    `UPDATE chain_deposits d SET credit_state = 'SUBMITTING', credit_after_event_seq = $2
     FROM transactions t
     WHERE d.transaction_id = $1 AND t.id = d.transaction_id AND t.status = 'PENDING' AND d.credit_state = 'NONE'
       AND EXISTS (SELECT 1 FROM chain_watcher_lease l WHERE l.chain = d.chain AND l.owner = $3
                   AND l.expires_at > now() + $4 * interval '1 millisecond')
     RETURNING d.transaction_id`,
    [transactionId, afterEventSeq, lease.owner, lease.minRemainingMs],
  );
  return result.rows.length === 1;
}

/** The intent turned out not to have reached the core: back to NONE, to be submitted again. */
export async function clearSubmitting(db: Queryable, transactionId: string): Promise<void> {
  await db.query(
    `UPDATE chain_deposits SET credit_state = 'NONE', credit_after_event_seq = NULL
     WHERE transaction_id = $1 AND credit_state = 'SUBMITTING'`,
    [transactionId],
  );
}

async function finishCredit(
  db: Database,
  transactionId: string,
  outcome: {
    creditState: 'CREDITED' | 'REJECTED';
    status: DepositStatus;
    coreSeq: number;
    coreEventSeq: number | null;
    resultCode: number;
  },
): Promise<void> {
  await db.transaction(async (tx) => {
    const current = await tx.query<{
      status: DepositStatus;
      credit_state: string;
      block_number: string;
      confirmations: number;
      user_id: string;
      currency: string;
      amount_base_units: string;
      tx_hash: string;
    }>(
      `SELECT t.status, d.credit_state, d.block_number::text AS block_number, t.confirmations, t.user_id,
         t.currency, t.amount_base_units::text AS amount_base_units, d.tx_hash
       FROM chain_deposits d JOIN transactions t ON t.id = d.transaction_id WHERE d.transaction_id = $1 FOR UPDATE`,
      [transactionId],
    );
    const row = current.rows[0];
    if (!row || row.credit_state !== 'SUBMITTING' || !canTransition(row.status, outcome.status)) {
      throw new Error(
        `Deposit ${transactionId} is not awaiting its credit (state ${row?.credit_state ?? 'missing'})`,
      );
    }
    await tx.query(
      `UPDATE chain_deposits SET credit_state = $2, core_seq = $3, core_event_seq = $4, core_result_code = $5,
         credited_at = now() WHERE transaction_id = $1`,
      [transactionId, outcome.creditState, outcome.coreSeq, outcome.coreEventSeq, outcome.resultCode],
    );
    await tx.query('UPDATE transactions SET status = $2, updated_at = now() WHERE id = $1', [
      transactionId,
      outcome.status,
    ]);
    await appendStatusHistory(
      tx,
      transactionId,
      outcome.status,
      Number(row.block_number),
      Number(row.confirmations),
    );
    // Rule 7: the credit (or the core's refusal) is audited in the same DB transaction.
    await enqueueAudit(tx, `deposit:${transactionId}:${outcome.status}`, {
      occurredAt: new Date(),
      actor: 'service:wallets',
      actorRole: 'SERVICE',
      action: outcome.status === 'CONFIRMED' ? 'DEPOSIT_CREDITED' : 'DEPOSIT_REJECTED',
      requestId: `core:${outcome.coreSeq}`,
      targetUserId: auditUserId(row.user_id),
      details: {
        transactionId,
        currency: row.currency,
        amount: formatDecimal(BigInt(row.amount_base_units), assetSpec(row.currency)!.decimals),
        txHash: row.tx_hash,
        blockNumber: row.block_number,
        coreSeq: String(outcome.coreSeq),
      },
    });
  });
}

/** The core credited the deposit: CONFIRMED and the credited marker, in one transaction. */
export function markCredited(
  db: Database,
  transactionId: string,
  coreSeq: number,
  coreEventSeq: number,
): Promise<void> {
  return finishCredit(db, transactionId, {
    creditState: 'CREDITED',
    status: 'CONFIRMED',
    coreSeq,
    coreEventSeq,
    resultCode: 0,
  });
}

/** The core refused the deposit (e.g. unknown asset): REJECTED, never retried. */
export function markRejected(
  db: Database,
  transactionId: string,
  coreSeq: number,
  resultCode: number,
): Promise<void> {
  return finishCredit(db, transactionId, {
    creditState: 'REJECTED',
    status: 'REJECTED',
    coreSeq,
    coreEventSeq: null,
    resultCode,
  });
}

/** Forgets block hashes below `belowNumber` (older than the reorg window). */
export async function pruneBlocks(db: Queryable, chain: Chain, belowNumber: number): Promise<void> {
  await db.query('DELETE FROM chain_blocks WHERE chain = $1 AND block_number < $2', [chain, belowNumber]);
}

/**
 * Takes or renews the watcher lease of `chain` for `owner` until now + `ttlMs`. True when `owner`
 * holds it now (it was free, expired, or already its own).
 */
export async function acquireWatcherLease(
  db: Queryable,
  chain: Chain,
  owner: string,
  ttlMs: number,
): Promise<boolean> {
  const result = await db.query<{ owner: string }>(
    `INSERT INTO chain_watcher_lease (chain, owner, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
     ON CONFLICT (chain) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
     WHERE chain_watcher_lease.owner = EXCLUDED.owner OR chain_watcher_lease.expires_at < now()
     RETURNING owner`,
    [chain, owner, ttlMs],
  );
  return result.rows.length === 1;
}

/** Gives the lease up (on a clean stop), so another instance may take over at once. */
export async function releaseWatcherLease(db: Queryable, chain: Chain, owner: string): Promise<void> {
  await db.query('DELETE FROM chain_watcher_lease WHERE chain = $1 AND owner = $2', [chain, owner]);
}

/** Audit entries name their user by UUID; any other id (never issued by identity) is left out. */
function auditUserId(userId: string): string | null {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(userId) ? userId : null;
}

/** Which of `hashes` (lower case) are transactions of our withdrawals. */
export async function withdrawalTxHashes(db: Queryable, hashes: readonly string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const result = await db.query<{ tx_hash: string }>(
    `SELECT tx_hash FROM transactions WHERE type = 'WITHDRAWAL' AND tx_hash = ANY($1::text[])`,
    [[...new Set(hashes)]],
  );
  return new Set(result.rows.map((row) => row.tx_hash));
}
