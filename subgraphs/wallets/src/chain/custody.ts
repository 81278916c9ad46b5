/**
 * The custody report (GET /internal/custody, service token): what the chain says the exchange holds
 * for its users, per asset, all read at one block — the chain watcher's cursor, the newest block it
 * has verified. Balances are read at that block; deposits, fundings and receipts count only at or
 * before it.
 *
 *   userCustodyUnits = depositAddressesUnits + hotWalletUnits − operatorFloatUnits
 *                      − uncreditedDepositUnits + unsettledWithdrawalUnits
 *
 * - depositAddressesUnits: Σ balances of every issued deposit address (never swept: no key here).
 * - hotWalletUnits: the hot wallet's balance (withdrawals are paid from it).
 * - operatorFloatUnits: what the operator funded the hot wallet with (transfers to it that are not
 *   ours, found by the watcher), minus what it spent outside withdrawals (value and gas, also found
 *   by the watcher), minus the gas it paid for withdrawals (ETH only).
 * - uncreditedDepositUnits: deposits on chain not (yet) credited in the core (PENDING, REJECTED).
 * - unsettledWithdrawalUnits: withdrawals mined successfully but not yet settled in the core.
 *
 * The ledger books custody as credited deposits minus settled withdrawals, so at rest the two are
 * equal. Blind spots: anything sent to our addresses before the watcher's first block, and ETH sent
 * by contracts (internal transactions), are not seen.
 */
import { Contract, Interface, type JsonRpcProvider } from 'ethers';
import type { Queryable } from '@graphex/runtime';
import { readCursor } from '../store/chain.ts';

export interface CustodyAsset {
  readonly currency: 'ETH' | 'USDT';
  readonly userCustodyUnits: string;
  readonly depositAddressesUnits: string;
  readonly hotWalletUnits: string;
  readonly operatorFloatUnits: string;
  readonly uncreditedDepositUnits: string;
  readonly unsettledWithdrawalUnits: string;
}

export interface CustodyReport {
  readonly available: boolean;
  readonly reason?: string;
  readonly blockNumber: number;
  readonly assets: readonly CustodyAsset[];
}

const balanceOfInterface = new Interface(['function balanceOf(address owner) view returns (uint256)']);
/** Parallel balance reads at most. */
const readConcurrency = 16;

async function sumBalances(
  addresses: readonly string[],
  read: (address: string) => Promise<bigint>,
): Promise<bigint> {
  let total = 0n;
  for (let i = 0; i < addresses.length; i += readConcurrency) {
    const chunk = await Promise.all(addresses.slice(i, i + readConcurrency).map(read));
    for (const units of chunk) total += units;
  }
  return total;
}

async function sumByCurrency(db: Queryable, sql: string, params: unknown[]): Promise<Map<string, bigint>> {
  const result = await db.query<{ currency: string; units: string }>(sql, params);
  return new Map(result.rows.map((row) => [row.currency, BigInt(row.units)]));
}

export function unavailableCustody(reason: string): CustodyReport {
  return { available: false, reason, blockNumber: 0, assets: [] };
}

export async function custodyReport(options: {
  readonly db: Queryable;
  readonly provider: JsonRpcProvider;
  readonly hotWalletAddress: string | null;
  readonly usdtTokenAddress: string | null;
}): Promise<CustodyReport> {
  const { db, provider } = options;
  const cursor = await readCursor(db, 'ethereum');
  if (!cursor) return unavailableCustody('the chain watcher has not scanned a block yet');
  const block = cursor.number;
  const issued = await db.query<{ address: string }>(
    'SELECT DISTINCT lower(address) AS address FROM deposit_addresses ORDER BY 1',
  );
  const addresses = issued.rows.map((row) => row.address);
  const uncredited = await sumByCurrency(
    db,
    `SELECT t.currency, sum(t.amount_base_units)::text AS units FROM chain_deposits d JOIN transactions t ON t.id = d.transaction_id
     WHERE t.status IN ('PENDING', 'REJECTED') AND d.block_number <= $1 GROUP BY t.currency`,
    [block],
  );
  const unsettled = await sumByCurrency(
    db,
    `SELECT t.currency, sum(t.amount_base_units)::text AS units FROM withdrawals w JOIN transactions t ON t.id = w.transaction_id
     WHERE t.status IN ('MINED', 'CONFIRMED') AND w.block_number <= $1 GROUP BY t.currency`,
    [block],
  );
  const funded = await sumByCurrency(
    db,
    `SELECT currency, sum(amount_base_units)::text AS units FROM hot_wallet_fundings WHERE block_number <= $1 GROUP BY currency`,
    [block],
  );
  const gas = await db.query<{ units: string }>(
    `SELECT COALESCE(sum(network_fee_wei), 0)::text AS units FROM withdrawals
     WHERE network_fee_wei IS NOT NULL AND block_number <= $1`,
    [block],
  );
  const gasWei = BigInt(gas.rows[0]!.units);
  const hot = options.hotWalletAddress;

  const assets: CustodyAsset[] = [];
  const add = (currency: 'ETH' | 'USDT', depositUnits: bigint, hotUnits: bigint): void => {
    const float = (funded.get(currency) ?? 0n) - (currency === 'ETH' ? gasWei : 0n);
    const uncreditedUnits = uncredited.get(currency) ?? 0n;
    const unsettledUnits = unsettled.get(currency) ?? 0n;
    assets.push({
      currency,
      userCustodyUnits: (depositUnits + hotUnits - float - uncreditedUnits + unsettledUnits).toString(),
      depositAddressesUnits: depositUnits.toString(),
      hotWalletUnits: hotUnits.toString(),
      operatorFloatUnits: float.toString(),
      uncreditedDepositUnits: uncreditedUnits.toString(),
      unsettledWithdrawalUnits: unsettledUnits.toString(),
    });
  };
  add(
    'ETH',
    await sumBalances(addresses, (address) => provider.getBalance(address, block)),
    hot ? await provider.getBalance(hot, block) : 0n,
  );
  if (options.usdtTokenAddress) {
    const token = new Contract(options.usdtTokenAddress, balanceOfInterface, provider);
    const balanceOf = async (address: string): Promise<bigint> =>
      (await token.getFunction('balanceOf')(address, { blockTag: block })) as bigint;
    add('USDT', await sumBalances(addresses, balanceOf), hot ? await balanceOf(hot) : 0n);
  }
  return { available: true, blockNumber: block, assets };
}
