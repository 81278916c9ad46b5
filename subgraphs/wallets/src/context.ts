import type { BaseRequestContext, Database } from '@graphex/runtime';
import type { DepositKeyring } from './chain/deposit-keys.ts';

/** What every wallets resolver receives: the verified identity, the database and the deposit key. */
export interface SubgraphContext extends BaseRequestContext {
  readonly db: Database;
  readonly depositKeyring: DepositKeyring;
}
