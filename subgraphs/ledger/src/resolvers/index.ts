/** Resolvers of the ledger subgraph. */
import { DecimalScalar, formatDecimal } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { balanceAccess } from '../domain/accounts.ts';
import type { Resolvers } from '../__generated__/resolvers-types.ts';

export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  User: {
    // The ledger knows users only by id; any id resolves (to zero balances if nothing is booked).
    __resolveReference: (reference) => ({ id: reference.id }),
    accounts: (user, _args, { identity, ledger }) => {
      const access = balanceAccess(identity, user.id);
      if (access === 'unauthenticated') throw apiError('UNAUTHENTICATED', 'Sign in to see balances.');
      if (access === 'forbidden')
        throw apiError('FORBIDDEN', 'Balances are visible only to their owner and to staff.');
      return ledger.userAccounts(user.id);
    },
  },
  Account: {
    currency: (account) => account.currency,
    available: (account) => formatDecimal(account.availableUnits, account.decimals),
    locked: (account) => formatDecimal(account.lockedUnits, account.decimals),
    total: (account) => formatDecimal(account.availableUnits + account.lockedUnits, account.decimals),
  },
  Mutation: {
    adminAdjustBalance: (_parent, args, { identity, requestId, ledger }) =>
      ledger.adminAdjustBalance(identity, requestId, args),
  },
};
