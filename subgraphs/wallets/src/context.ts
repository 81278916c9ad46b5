import type { BaseRequestContext, Database } from '@graphex/runtime';
import type { DepositKeyring } from './chain/deposit-keys.ts';
import type { WithdrawalService } from './withdrawal-service.ts';

/** What every wallets resolver receives: the verified identity, the database and the deposit key. */
export interface SubgraphContext extends BaseRequestContext {
  readonly db: Database;
  readonly depositKeyring: DepositKeyring;
  /** Withdrawal use cases; null when withdrawals are not configured (no ETH_RPC_URL). */
  readonly withdrawals: WithdrawalService | null;
}
