import { DateTimeScalar, DecimalScalar, formatDecimal, requireRole, requireUser } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Resolvers } from '../__generated__/resolvers-types.ts';
import type { SubgraphContext } from '../context.ts';
import {
  canReadWalletOf,
  currencyDecimals,
  isWalletStaff,
  depositCurrency,
  pageSize,
  type TransactionRecord,
} from '../domain/transaction.ts';
import { isWithdrawalStatus } from '../domain/withdrawal.ts';
import { allowlistOf, findWithdrawal, listWithdrawals, type WithdrawalRow } from '../store/withdrawals.ts';
import type { WithdrawalService } from '../withdrawal-service.ts';
import {
  depositAddressesOf,
  depositAddressFor,
  findTransaction,
  listUserTransactions,
} from '../store/wallets.ts';
import { statusHistoryOf } from '../store/chain.ts';

const maxIdLength = 64;

/** A transaction as resolvers pass it on: withdrawals may carry their details already. */
type WithDetails = TransactionRecord & { readonly withdrawal?: WithdrawalRow | null };

/** The Transaction a withdrawal row is. */
function withdrawalRecord(row: WithdrawalRow): WithDetails {
  return {
    id: row.transactionId,
    userId: row.userId,
    type: 'WITHDRAWAL',
    currency: row.currency,
    amountBaseUnits: row.amountBaseUnits,
    status: row.status,
    address: row.address,
    txHash: row.txHash,
    confirmations: row.confirmations,
    createdAt: row.createdAt,
    withdrawal: row,
  };
}

async function detailsOf(transaction: WithDetails, db: SubgraphContext['db']): Promise<WithdrawalRow | null> {
  if (transaction.type !== 'WITHDRAWAL') return null;
  return transaction.withdrawal ?? (await findWithdrawal(db, transaction.id));
}

function withdrawalsOn(context: SubgraphContext): WithdrawalService {
  if (!context.withdrawals) {
    throw apiError('SERVICE_UNAVAILABLE', 'Withdrawals are not available: the chain node is not configured.');
  }
  return context.withdrawals;
}

function operatorOf(context: SubgraphContext, ...roles: Array<'ADMIN' | 'COMPLIANCE' | 'SUPPORT'>) {
  const { userId, role } = requireRole(context.identity, ...roles);
  // Staff powers are a signed-in person's, never an API key's (whatever role it names).
  if (context.identity.kind !== 'user') throw apiError('FORBIDDEN', 'Staff actions need a signed-in user.');
  return { userId, role };
}

function checkedId(id: string): string {
  if (id.length === 0 || id.length > maxIdLength) throw apiError('NOT_FOUND', 'No such withdrawal.');
  return id;
}

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
    withdrawalAllowlist: async (user, _args, { identity, db }) => {
      requireUser(identity);
      if (!canReadWalletOf(identity, user.id)) {
        throw apiError(
          'FORBIDDEN',
          "Only the user, SUPPORT, COMPLIANCE or ADMIN may read a user's withdrawal allowlist.",
        );
      }
      return allowlistOf(db, user.id);
    },
  },
  Query: {
    withdrawals: async (_parent, { status, first, after }, context) => {
      operatorOf(context, 'SUPPORT', 'COMPLIANCE', 'ADMIN');
      const statuses = status ?? [];
      if (statuses.length > 20 || statuses.some((value) => !isWithdrawalStatus(value))) {
        throw apiError('BAD_USER_INPUT', '`status` lists withdrawal statuses, e.g. ["PENDING_REVIEW"].', {
          argument: 'status',
        });
      }
      const limit = pageSize(first);
      if (after !== null && after !== undefined && (after.length === 0 || after.length > maxIdLength)) {
        throw apiError('BAD_USER_INPUT', '`after` must be the id of a withdrawal from this list.', {
          argument: 'after',
        });
      }
      const page = await listWithdrawals(context.db, statuses, limit, after ?? null);
      if (page === null) {
        throw apiError('BAD_USER_INPUT', '`after` must be the id of a withdrawal from this list.', {
          argument: 'after',
        });
      }
      return page.map(withdrawalRecord);
    },
  },
  Transaction: {
    __resolveReference: async (reference, { identity, db }) => {
      if (reference.id.length > maxIdLength) return null;
      const transaction = await findTransaction(db, reference.id);
      return transaction && canReadWalletOf(identity, transaction.userId) ? transaction : null;
    },
    // Who decided and why (officers' ids, review notes) and the AML flags are compliance
    // internals: staff see them, the owner sees the statuses only.
    statusHistory: async (transaction, _args, { db, identity }) => {
      const history = await statusHistoryOf(db, transaction.id);
      return isWalletStaff(identity)
        ? history
        : history.map((change) => ({ ...change, actor: null, reason: null }));
    },
    amount: (transaction) =>
      formatDecimal(transaction.amountBaseUnits, currencyDecimals(transaction.currency)),
    user: (transaction) => ({ id: transaction.userId }),
    failureReason: async (transaction, _args, { db }) =>
      (await detailsOf(transaction, db))?.failureReason ?? null,
    amlFlags: async (transaction, _args, { db, identity }) =>
      isWalletStaff(identity) ? [...((await detailsOf(transaction, db))?.amlFlags ?? [])] : [],
    attentionReason: async (transaction, _args, { db }) =>
      (await detailsOf(transaction, db))?.attentionReason ?? null,
    networkFee: async (transaction, _args, { db }) => {
      const fee = (await detailsOf(transaction, db))?.networkFeeWei ?? null;
      return fee === null ? null : formatDecimal(fee, currencyDecimals('ETH'));
    },
    nonce: async (transaction, _args, { db }) => (await detailsOf(transaction, db))?.nonce ?? null,
  },
  Mutation: {
    createDepositAddress: async (_parent, args, { identity, db, depositKeyring, logger }) => {
      const { userId } = requireUser(identity);
      const { currency, chain } = depositCurrency(args.currency);
      const deposit = await depositAddressFor(db, depositKeyring, userId, currency, chain);
      logger.info('deposit address issued', { userId, currency, derivationIndex: deposit.derivationIndex });
      return { currency: deposit.currency, address: deposit.address };
    },
    requestWithdrawal: async (_parent, { input }, context) => {
      const { userId } = requireUser(context.identity);
      return withdrawalRecord(await withdrawalsOn(context).request(userId, input));
    },
    reviewWithdrawal: async (_parent, { id, decision, reason }, context) => {
      const operator = operatorOf(context, 'COMPLIANCE', 'ADMIN');
      return withdrawalRecord(await withdrawalsOn(context).review(operator, checkedId(id), decision, reason));
    },
    retryWithdrawal: async (_parent, { id }, context) => {
      const operator = operatorOf(context, 'ADMIN');
      return withdrawalRecord(await withdrawalsOn(context).retry(operator, checkedId(id)));
    },
    failWithdrawal: async (_parent, { id, reason }, context) => {
      const operator = operatorOf(context, 'ADMIN');
      return withdrawalRecord(await withdrawalsOn(context).fail(operator, checkedId(id), reason));
    },
    addWithdrawalAddress: async (_parent, { address, totpCode }, context) => {
      const { userId } = requireUser(context.identity);
      return withdrawalsOn(context).addAllowedAddress(userId, address, totpCode);
    },
    removeWithdrawalAddress: async (_parent, { address, totpCode }, context) => {
      const { userId } = requireUser(context.identity);
      return withdrawalsOn(context).removeAllowedAddress(userId, address, totpCode);
    },
  },
};
