/** What the ledger's resolvers receive: the platform's request context plus the ledger service. */
import type { BaseRequestContext } from '@graphex/runtime';
import type { LedgerOperations } from './ledger-operations.ts';

export interface SubgraphContext extends BaseRequestContext {
  readonly ledger: LedgerOperations;
}
