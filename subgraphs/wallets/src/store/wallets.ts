/**
 * Wallets repository: deposit addresses and the transaction history. Amounts are NUMERIC(78,0)
 * base units, read back as text and turned into bigint.
 */
import { enqueueAudit, type Database, type Queryable } from '@graphex/runtime';
import { assetSpec } from '@graphex/schema';
import type { DepositKeyring } from '../chain/deposit-keys.ts';
import type { DepositAddress, TransactionRecord, TransactionType } from '../domain/transaction.ts';

interface AddressRow {
  user_id: string;
  currency: string;
  address: string;
  derivation_index: number | string;
}

const toAddress = (row: AddressRow): DepositAddress => ({
  userId: row.user_id,
  currency: row.currency,
  address: row.address,
  derivationIndex: Number(row.derivation_index),
});

/**
 * The user's deposit address for `currency`: the stored one, or a new one at the next derivation
 * index. Concurrent calls for the same (user, currency) agree on one address (the primary key
 * decides; a loser's index is simply never used).
 */
export async function depositAddressFor(
  db: Database,
  keyring: DepositKeyring,
  userId: string,
  currency: string,
  chain: 'ethereum',
): Promise<DepositAddress> {
  const existing = await db.query<AddressRow>(
    'SELECT user_id, currency, address, derivation_index FROM deposit_addresses WHERE user_id = $1 AND currency = $2',
    [userId, currency],
  );
  if (existing.rows[0]) return toAddress(existing.rows[0]);
  return db.transaction(async (tx) => {
    const next = await tx.query<{ index: string }>(
      "SELECT nextval('deposit_address_index_seq')::text AS index",
    );
    const index = Number(next.rows[0]!.index);
    const address = keyring.addressAt(index);
    const inserted = await tx.query<AddressRow>(
      `INSERT INTO deposit_addresses (user_id, currency, chain, address, derivation_index, xpub_fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (user_id, currency) DO NOTHING
       RETURNING user_id, currency, address, derivation_index`,
      [userId, currency, chain, address, index, keyring.fingerprint],
    );
    if (inserted.rows[0]) {
      // A new address the exchange will credit: audited in the same DB transaction.
      await enqueueAudit(tx, `deposit-address:${userId}:${currency}`, {
        occurredAt: new Date(),
        actor: auditUserId(userId) ?? 'unknown-user',
        actorRole: 'USER',
        action: 'DEPOSIT_ADDRESS_CREATED',
        requestId: `deposit-address:${userId}:${currency}`,
        targetUserId: auditUserId(userId),
        details: { currency, chain, address, derivationIndex: String(index) },
      });
      return toAddress(inserted.rows[0]);
    }
    const winner = await tx.query<AddressRow>(
      'SELECT user_id, currency, address, derivation_index FROM deposit_addresses WHERE user_id = $1 AND currency = $2',
      [userId, currency],
    );
    return toAddress(winner.rows[0]!);
  });
}

export async function depositAddressesOf(db: Queryable, userId: string): Promise<DepositAddress[]> {
  const result = await db.query<AddressRow>(
    'SELECT user_id, currency, address, derivation_index FROM deposit_addresses WHERE user_id = $1 ORDER BY currency',
    [userId],
  );
  return result.rows.map(toAddress);
}

export interface NewTransaction {
  /** Caller-chosen, stable id: recording the same transaction twice is a no-op. */
  readonly id: string;
  readonly userId: string;
  readonly type: TransactionType;
  readonly currency: string;
  readonly amountBaseUnits: bigint;
  readonly status: string;
  readonly address?: string | null;
  readonly txHash?: string | null;
  readonly confirmations?: number;
  readonly createdAt?: Date;
}

/**
 * Records a deposit or withdrawal (the chain watcher and withdrawal flow of issue 6 call this).
 * Idempotent on `id`: returns `false` when it already existed (nothing changes then).
 */
export async function recordTransaction(db: Queryable, transaction: NewTransaction): Promise<boolean> {
  // Callers are services, not clients: a bad record is a programming error, refused loudly.
  if (transaction.amountBaseUnits <= 0n) throw new RangeError('Transaction amount must be positive');
  if (!assetSpec(transaction.currency)) throw new RangeError(`Unknown currency ${transaction.currency}`);
  if (transaction.id.length === 0 || transaction.id.length > 64)
    throw new RangeError('Transaction id must be 1..64 characters');
  if (!/^[A-Z_]{1,32}$/.test(transaction.status))
    throw new RangeError(`Invalid transaction status ${transaction.status}`);
  const result = await db.query(
    `INSERT INTO transactions (id, user_id, type, currency, amount_base_units, status, address, tx_hash, confirmations, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $10)
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      transaction.id,
      transaction.userId,
      transaction.type,
      transaction.currency,
      transaction.amountBaseUnits.toString(),
      transaction.status,
      transaction.address ?? null,
      transaction.txHash ?? null,
      transaction.confirmations ?? 0,
      transaction.createdAt ?? new Date(),
    ],
  );
  return result.rows.length === 1;
}

interface TransactionRow {
  id: string;
  user_id: string;
  type: TransactionType;
  currency: string;
  amount_base_units: string;
  status: string;
  address: string | null;
  tx_hash: string | null;
  confirmations: number;
  created_at: Date | string;
}

const transactionColumns = `id, user_id, type, currency, amount_base_units::text AS amount_base_units, status, address, tx_hash, confirmations, created_at`;

const toTransaction = (row: TransactionRow): TransactionRecord => ({
  id: row.id,
  userId: row.user_id,
  type: row.type,
  currency: row.currency,
  amountBaseUnits: BigInt(row.amount_base_units),
  status: row.status,
  address: row.address,
  txHash: row.tx_hash,
  confirmations: Number(row.confirmations),
  createdAt: new Date(row.created_at),
});

export async function findTransaction(db: Queryable, id: string): Promise<TransactionRecord | null> {
  const result = await db.query<TransactionRow>(
    `SELECT ${transactionColumns} FROM transactions WHERE id = $1`,
    [id],
  );
  return result.rows[0] ? toTransaction(result.rows[0]) : null;
}

/**
 * A page of the user's transactions, newest first with id as tie-breaker, starting after the
 * transaction `afterId` (of the same user). Returns null when `afterId` is not one of theirs.
 */
export async function listUserTransactions(
  db: Queryable,
  userId: string,
  limit: number,
  afterId: string | null,
): Promise<TransactionRecord[] | null> {
  if (afterId === null) {
    const result = await db.query<TransactionRow>(
      `SELECT ${transactionColumns} FROM transactions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
      [userId, limit],
    );
    return result.rows.map(toTransaction);
  }
  const anchor = await db.query('SELECT 1 FROM transactions WHERE id = $1 AND user_id = $2', [
    afterId,
    userId,
  ]);
  if (anchor.rows.length === 0) return null;
  const result = await db.query<TransactionRow>(
    `SELECT ${transactionColumns} FROM transactions t
     WHERE t.user_id = $1 AND (t.created_at, t.id) < (SELECT a.created_at, a.id FROM transactions a WHERE a.id = $2)
     ORDER BY t.created_at DESC, t.id DESC LIMIT $3`,
    [userId, afterId, limit],
  );
  return result.rows.map(toTransaction);
}

/** Audit entries name their user by UUID; any other id (never issued by identity) is left out. */
function auditUserId(userId: string): string | null {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(userId) ? userId : null;
}
