/**
 * Deposits, withdrawals and deposit addresses as the wallets read model holds them, and the pure
 * rules around them: visibility, supported deposit currencies, page bounds.
 */
import type { Identity } from '@graphex/runtime';
import { apiError, assetSpec } from '@graphex/schema';

export type TransactionType = 'DEPOSIT' | 'WITHDRAWAL';

/** A transaction as resolvers see it (the `Transaction` mapper). */
export interface TransactionRecord {
  readonly id: string;
  readonly userId: string;
  readonly type: TransactionType;
  readonly currency: string;
  /** Integer base units of `currency` (wei for ETH, 10^-6 for USDT). */
  readonly amountBaseUnits: bigint;
  readonly status: string;
  readonly address: string | null;
  readonly txHash: string | null;
  readonly confirmations: number;
  readonly createdAt: Date;
}

export interface UserReference {
  readonly id: string;
}

export interface DepositAddress {
  readonly userId: string;
  readonly currency: string;
  readonly address: string;
  readonly derivationIndex: number;
}

/** Roles that may read any user's wallet history (support desks, compliance officers, admins). */
const walletReaderRoles = new Set(['SUPPORT', 'COMPLIANCE', 'ADMIN']);

/**
 * Staff read powers: a signed-in SUPPORT, COMPLIANCE or ADMIN user. An API key never carries them,
 * whatever role it names (the gateway signs API-key identities as USER; this is the second line).
 */
export function isWalletStaff(identity: Identity): boolean {
  return identity.kind === 'user' && walletReaderRoles.has(identity.role);
}

export function canReadWalletOf(identity: Identity, ownerId: string): boolean {
  if (identity.kind === 'anonymous') return false;
  return identity.userId === ownerId || isWalletStaff(identity);
}

/**
 * Currencies that can be deposited, and on which chain. ETH natively; USDT as an ERC-20 token on
 * Ethereum, so it uses the same BIP-44 address scheme (coin type 60).
 */
export const depositCurrencies: Readonly<Record<string, { readonly chain: 'ethereum' }>> = {
  ETH: { chain: 'ethereum' },
  USDT: { chain: 'ethereum' },
};

/** Validates a deposit currency argument (BAD_USER_INPUT for unknown or unsupported ones). */
export function depositCurrency(currency: string): { currency: string; chain: 'ethereum' } {
  const supported = Object.hasOwn(depositCurrencies, currency) ? depositCurrencies[currency] : undefined;
  if (!supported) {
    const known = assetSpec(currency) !== undefined;
    throw apiError(
      'BAD_USER_INPUT',
      known
        ? `Deposits of ${currency} are not supported yet; supported: ${Object.keys(depositCurrencies).join(', ')}.`
        : `Unknown currency "${currency.slice(0, 16)}"; supported: ${Object.keys(depositCurrencies).join(', ')}.`,
      { argument: 'currency' },
    );
  }
  return { currency, chain: supported.chain };
}

/** Decimals of a currency's base unit; a transaction in an unknown currency is a broken database. */
export function currencyDecimals(currency: string): number {
  const spec = assetSpec(currency);
  if (!spec) throw new Error(`Transaction currency ${currency} is not a known asset`);
  return spec.decimals;
}

export const defaultPageSize = 50;
export const maxPageSize = 200;

export function pageSize(first: number | null | undefined): number {
  const size = first ?? defaultPageSize;
  if (!Number.isInteger(size) || size < 1 || size > maxPageSize) {
    throw apiError('BAD_USER_INPUT', `\`first\` must be between 1 and ${maxPageSize}.`, {
      argument: 'first',
    });
  }
  return size;
}
