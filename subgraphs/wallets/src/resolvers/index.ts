import { DateTimeScalar, DecimalScalar, formatDecimal, requireUser } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { canReadWalletOf, currencyDecimals, depositCurrency, pageSize } from '../domain/transaction.ts';
import {
  depositAddressesOf,
  depositAddressFor,
  findTransaction,
  listUserTransactions,
} from '../store/wallets.ts';
import { statusHistoryOf } from '../store/chain.ts';

const maxIdLength = 64;

export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  User: {
    __resolveReference: (reference) => ({ id: reference.id }),
    transactions: async (user, { first, after }, { identity, db }) => {
      requireUser(identity);
      if (!canReadWalletOf(identity, user.id)) {
        throw apiError(
          'FORBIDDEN',
          "Only the user, SUPPORT, COMPLIANCE or ADMIN may read a user's transactions.",
        );
      }
      const limit = pageSize(first);
      if (after !== null && after !== undefined && (after.length === 0 || after.length > maxIdLength)) {
        throw apiError('BAD_USER_INPUT', '`after` must be the id of a transaction from this list.', {
          argument: 'after',
        });
      }
      const page = await listUserTransactions(db, user.id, limit, after ?? null);
      if (page === null)
        throw apiError('BAD_USER_INPUT', '`after` must be the id of a transaction from this list.', {
          argument: 'after',
        });
      return page;
    },
    depositAddresses: async (user, _args, { identity, db }) => {
      requireUser(identity);
      if (!canReadWalletOf(identity, user.id)) {
        throw apiError(
          'FORBIDDEN',
          "Only the user, SUPPORT, COMPLIANCE or ADMIN may read a user's deposit addresses.",
        );
      }
      return (await depositAddressesOf(db, user.id)).map(({ currency, address }) => ({ currency, address }));
    },
  },
  Transaction: {
    __resolveReference: async (reference, { identity, db }) => {
      if (reference.id.length > maxIdLength) return null;
      const transaction = await findTransaction(db, reference.id);
      return transaction && canReadWalletOf(identity, transaction.userId) ? transaction : null;
    },
    statusHistory: (transaction, _args, { db }) => statusHistoryOf(db, transaction.id),
    amount: (transaction) =>
      formatDecimal(transaction.amountBaseUnits, currencyDecimals(transaction.currency)),
  },
  Mutation: {
    createDepositAddress: async (_parent, args, { identity, db, depositKeyring, logger }) => {
      const { userId } = requireUser(identity);
      const { currency, chain } = depositCurrency(args.currency);
      const deposit = await depositAddressFor(db, depositKeyring, userId, currency, chain);
      logger.info('deposit address issued', { userId, currency, derivationIndex: deposit.derivationIndex });
      return { currency: deposit.currency, address: deposit.address };
    },
  },
};
