/** Read side: a user's balances per asset. */
import type { Queryable } from '@graphex/runtime';
import { userAccountsFrom, type UserAccountBalance, type UserBucket } from '../domain/accounts.ts';

export async function readUserAccounts(db: Queryable, userId: string): Promise<UserAccountBalance[]> {
  const result = await db.query<{ currency: string; bucket: UserBucket; balance: string }>(
    `SELECT currency, bucket, balance::text AS balance FROM ledger_accounts WHERE owner_kind = 'USER' AND user_id = $1`,
    [userId],
  );
  return userAccountsFrom(result.rows.map((row) => ({ ...row, balanceUnits: BigInt(row.balance) })));
}
