/** Resolvers of the ledger subgraph. */
import { DateTimeScalar, DecimalScalar, formatDecimal } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { balanceAccess } from '../domain/accounts.ts';
import { journalTransactionId } from '../domain/journal.ts';
import type { EntryCursor } from '../projections/journal-store.ts';
import type { Identity } from '@graphex/runtime';
import type { Resolvers } from '../__generated__/resolvers-types.ts';

function requireBalanceAccess(identity: Identity, userId: string): void {
  const access = balanceAccess(identity, userId);
  if (access === 'unauthenticated') throw apiError('UNAUTHENTICATED', 'Sign in to see balances.');
  if (access === 'forbidden')
    throw apiError('FORBIDDEN', 'Balances are visible only to their owner and to staff.');
}

/** Cursors are opaque to clients: base64url of `<eventSeq>.<leg>.<index>`. */
export function encodeEntryCursor(cursor: EntryCursor): string {
  return Buffer.from(`${cursor.eventSeq}.${cursor.leg}.${cursor.entryIndex}`).toString('base64url');
}

export function decodeEntryCursor(text: string): EntryCursor {
  const match = /^(\d{1,15})\.(\d{1,4})\.(\d{1,4})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!match)
    throw apiError('BAD_USER_INPUT', 'after is not a cursor of Account.entries.', { field: 'after' });
  return { eventSeq: Number(match[1]), leg: Number(match[2]), entryIndex: Number(match[3]) };
}

export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  User: {
    // The ledger knows users only by id; any id resolves (to zero balances if nothing is booked).
    __resolveReference: (reference) => ({ id: reference.id }),
    accounts: (user, _args, { identity, ledger }) => {
      requireBalanceAccess(identity, user.id);
      return ledger.userAccounts(user.id);
    },
  },
  Account: {
    currency: (account) => account.currency,
    available: (account) => formatDecimal(account.availableUnits, account.decimals),
    locked: (account) => formatDecimal(account.lockedUnits, account.decimals),
    total: (account) => formatDecimal(account.availableUnits + account.lockedUnits, account.decimals),
    entries: (account, { first, after }, { identity, ledger }) => {
      // Same visibility as User.accounts (an Account is only reachable through it or the mutation).
      requireBalanceAccess(identity, account.userId);
      return ledger.accountEntries(account, first ?? 50, after ? decodeEntryCursor(after) : null);
    },
  },
  LedgerEntryConnection: {
    edges: (page) => page.entries.map((entry) => ({ cursor: encodeEntryCursor(entry), node: entry })),
    pageInfo: (page) => {
      const last = page.entries.at(-1);
      return { hasNextPage: page.hasNextPage, endCursor: last ? encodeEntryCursor(last) : null };
    },
  },
  LedgerEntry: {
    id: (entry) => `${journalTransactionId(entry.eventSeq, entry.leg)}.${entry.entryIndex}`,
    transactionId: (entry) => journalTransactionId(entry.eventSeq, entry.leg),
    kind: (entry) => entry.kind,
    side: (entry) => entry.side,
    bucket: (entry) => entry.bucket,
    amount: (entry) => formatDecimal(entry.amountUnits, entry.decimals),
    balanceAfter: (entry) => formatDecimal(entry.balanceAfterUnits, entry.decimals),
    eventSeq: (entry) => entry.eventSeq,
    occurredAt: (entry) => entry.occurredAt,
    description: (entry) => entry.description,
  },
  LedgerReconciliation: {
    sequence: (report) => report.sequence,
    balanced: (report) => report.balanced,
    assets: (report) => [...report.assets],
    chainBlockNumber: (report) => report.chainBlockNumber,
    custodyNote: (report) => report.custodyNote,
    coreSequence: (report) => report.coreSequence,
    lagEvents: (report) => report.lagEvents,
    caughtUp: (report) => report.caughtUp,
    ok: (report) => report.ok,
  },
  AssetReconciliation: {
    currency: (asset) => asset.currency,
    userAvailable: (asset) => formatDecimal(asset.userAvailableUnits, asset.decimals),
    userLocked: (asset) => formatDecimal(asset.userLockedUnits, asset.decimals),
    pendingWithdrawals: (asset) => formatDecimal(asset.pendingWithdrawalUnits, asset.decimals),
    feeRevenue: (asset) => formatDecimal(asset.feeRevenueUnits, asset.decimals),
    custody: (asset) => formatDecimal(asset.custodyUnits, asset.decimals),
    adjustments: (asset) => formatDecimal(asset.adjustmentUnits, asset.decimals),
    conservation: (asset) => asset.conservation,
    ledgerMatchesCore: (asset) => asset.ledgerMatchesCore,
    mismatches: (asset) =>
      asset.mismatches.map((m) => ({
        userId: m.userId,
        currency: m.currency,
        ledgerAvailable: formatDecimal(m.ledgerAvailableUnits, asset.decimals),
        ledgerLocked: formatDecimal(m.ledgerLockedUnits, asset.decimals),
        coreAvailable: formatDecimal(m.coreAvailableUnits, asset.decimals),
        coreLocked: formatDecimal(m.coreLockedUnits, asset.decimals),
      })),
    custodyOnChain: (asset) =>
      asset.custodyOnChainUnits === null ? null : formatDecimal(asset.custodyOnChainUnits, asset.decimals),
    custodyMatchesChain: (asset) => asset.custodyMatchesChain,
  },
  Query: {
    ledgerReconciliation: (_parent, _args, { identity, ledger }) => ledger.reconciliation(identity),
  },
  Mutation: {
    adminAdjustBalance: (_parent, args, { identity, requestId, ledger }) =>
      ledger.adminAdjustBalance(identity, requestId, args),
  },
};
