/**
 * Withdrawals as a state machine (pure: no I/O). Every transition is persisted with a
 * status-history entry (src/store/withdrawals.ts); a transition not in `withdrawalTransitions` is
 * refused with INVALID_STATE_TRANSITION, never ignored.
 *
 *   REQUESTED ──hold acknowledged──▶ HELD ──AML clean──▶ APPROVED ──signed──▶ SIGNED ──node accepted──▶ BROADCAST
 *       │                              └──AML flagged──▶ PENDING_REVIEW ──approve──▶ APPROVED
 *       └─hold refused/lost──▶ FAILED                          └──reject──▶ REJECTED ──release──▶ RELEASED
 *   BROADCAST ──receipt (status 1 or 0)──▶ MINED ──N confirmations, status 1──▶ CONFIRMED ──core settle──▶ COMPLETED
 *   MINED ──N confirmations, status 0──▶ FAILED ──release──▶ RELEASED (a revert is final only at the
 *     same depth as a success: a reorged-away revert can be mined again, and succeed, on the new branch)
 *   MINED ──reorged away──▶ BROADCAST (the same signed tx is rebroadcast)
 *   SIGNED ──node refused, never broadcast before──▶ FAILED
 *   APPROVED/SIGNED/BROADCAST ──retries exhausted / unknown outcome──▶ NEEDS_ATTENTION
 *   any state the processor works on ──the same step failed `maxStepFailures` times in a row──▶ NEEDS_ATTENTION
 *   NEEDS_ATTENTION ──operator retry──▶ the state it came from · ──operator fail──▶ FAILED
 *
 * Funds are held in the core from HELD on (so they cannot be traded away during review), leave
 * the exchange at COMPLETED (WithdrawSettle) and come back at RELEASED (WithdrawRelease).
 */
import { getAddress } from 'ethers';
import { apiError, assetSpec } from '@graphex/schema';

export const withdrawalStatuses = [
  'REQUESTED',
  'HELD',
  'PENDING_REVIEW',
  'APPROVED',
  'SIGNED',
  'BROADCAST',
  'MINED',
  'CONFIRMED',
  'COMPLETED',
  'REJECTED',
  'FAILED',
  'RELEASED',
  'NEEDS_ATTENTION',
] as const;
export type WithdrawalStatus = (typeof withdrawalStatuses)[number];

export const withdrawalTransitions: Readonly<Record<WithdrawalStatus, readonly WithdrawalStatus[]>> = {
  REQUESTED: ['HELD', 'FAILED', 'NEEDS_ATTENTION'],
  HELD: ['APPROVED', 'PENDING_REVIEW'],
  PENDING_REVIEW: ['APPROVED', 'REJECTED'],
  APPROVED: ['SIGNED', 'NEEDS_ATTENTION', 'FAILED'],
  SIGNED: ['BROADCAST', 'FAILED', 'NEEDS_ATTENTION'],
  BROADCAST: ['MINED', 'FAILED', 'NEEDS_ATTENTION'],
  MINED: ['CONFIRMED', 'BROADCAST', 'FAILED', 'NEEDS_ATTENTION'],
  CONFIRMED: ['COMPLETED', 'NEEDS_ATTENTION'],
  COMPLETED: [],
  REJECTED: ['RELEASED', 'NEEDS_ATTENTION'],
  FAILED: ['RELEASED', 'NEEDS_ATTENTION'],
  RELEASED: [],
  NEEDS_ATTENTION: [
    'REQUESTED',
    'APPROVED',
    'SIGNED',
    'BROADCAST',
    'MINED',
    'CONFIRMED',
    'FAILED',
    'REJECTED',
  ],
};

export function isWithdrawalStatus(value: string): value is WithdrawalStatus {
  return (withdrawalStatuses as readonly string[]).includes(value);
}

export function canTransitionWithdrawal(from: WithdrawalStatus, to: WithdrawalStatus): boolean {
  return withdrawalTransitions[from].includes(to);
}

/** Statuses whose amount does not count against the 24h limit (the funds came or will come back). */
export const releasedStatuses: ReadonlySet<WithdrawalStatus> = new Set(['FAILED', 'REJECTED', 'RELEASED']);

/** Statuses the hot-wallet processor works on. */
export const activeChainStatuses: readonly WithdrawalStatus[] = ['APPROVED', 'SIGNED', 'BROADCAST', 'MINED'];

/** Currencies that can be withdrawn: ETH natively, USDT as the ERC-20 at USDT_TOKEN_ADDRESS. */
export const withdrawalCurrencies = ['ETH', 'USDT'] as const;
export type WithdrawalCurrency = (typeof withdrawalCurrencies)[number];

export function withdrawalCurrency(currency: string): WithdrawalCurrency {
  if (!(withdrawalCurrencies as readonly string[]).includes(currency)) {
    throw apiError(
      'BAD_USER_INPUT',
      `Withdrawals of "${currency.slice(0, 16)}" are not supported; supported: ${withdrawalCurrencies.join(', ')}.`,
      { argument: 'currency' },
    );
  }
  return currency as WithdrawalCurrency;
}

export function decimalsOf(currency: WithdrawalCurrency): number {
  return assetSpec(currency)!.decimals;
}

/**
 * An Ethereum destination address, checksummed. All-lower-case and all-upper-case hex are accepted
 * as unchecksummed (EIP-55); mixed case must carry a valid checksum (a typo in a mixed-case
 * address is caught).
 */
export function destinationAddress(address: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw apiError(
      'BAD_USER_INPUT',
      'address must be an Ethereum address: 0x followed by 40 hexadecimal digits.',
      { argument: 'address' },
    );
  }
  try {
    // ethers accepts all-lower/all-upper hex unchecked and verifies the checksum of mixed case.
    const hex = address.slice(2);
    return getAddress(hex === hex.toUpperCase() ? `0x${hex.toLowerCase()}` : address);
  } catch {
    throw apiError(
      'BAD_USER_INPUT',
      'address has an invalid EIP-55 checksum (mixed case must match the checksum; check for a typo).',
      { argument: 'address' },
    );
  }
}

export function validIdempotencyKey(key: string): string {
  if (!/^[\x21-\x7e]{1,100}$/.test(key)) {
    throw apiError('BAD_USER_INPUT', 'idempotencyKey must be 1..100 printable ASCII characters.', {
      argument: 'idempotencyKey',
    });
  }
  return key;
}

/** What makes two requests with the same idempotency key "the same request". */
export function requestFingerprint(currency: string, amountBaseUnits: bigint, address: string): string {
  return `${currency}|${amountBaseUnits.toString()}|${address.toLowerCase()}`;
}

/** The Transaction id of a withdrawal, from its core withdrawal id (stable, never reused). */
export function withdrawalTransactionId(coreWithdrawalId: number): string {
  return `wd_${coreWithdrawalId}`;
}

// ---------------------------------------------------------------------------------------------
// AML screening

export interface AmlConfig {
  /** A single withdrawal above this amount (base units) is flagged, per currency. */
  readonly amountThresholdUnits: Readonly<Record<WithdrawalCurrency, bigint>>;
  /** More than this many withdrawals by the user in 24h (this one included) is flagged. */
  readonly velocityMaxCount: number;
  /** More than this value withdrawn in 24h in the currency (this one included) is flagged. */
  readonly velocityMaxUnits: Readonly<Record<WithdrawalCurrency, bigint>>;
  /** Sanctioned destinations, lower-case. */
  readonly sanctionedAddresses: ReadonlySet<string>;
}

export type AmlFlag = 'AMOUNT_OVER_THRESHOLD' | 'VELOCITY_COUNT' | 'VELOCITY_VALUE' | 'SANCTIONED_ADDRESS';

export interface AmlInput {
  readonly currency: WithdrawalCurrency;
  readonly amountBaseUnits: bigint;
  readonly address: string;
  /** The user's other withdrawals of the last 24h not failed/rejected, all currencies. */
  readonly recentCount: number;
  /** Their value in this currency (this withdrawal excluded). */
  readonly recentUnitsInCurrency: bigint;
}

/** The AML rules: the reasons to hold a withdrawal for COMPLIANCE; empty = clean. */
export function screenWithdrawal(config: AmlConfig, input: AmlInput): AmlFlag[] {
  const flags: AmlFlag[] = [];
  if (input.amountBaseUnits > config.amountThresholdUnits[input.currency])
    flags.push('AMOUNT_OVER_THRESHOLD');
  if (input.recentCount + 1 > config.velocityMaxCount) flags.push('VELOCITY_COUNT');
  if (input.recentUnitsInCurrency + input.amountBaseUnits > config.velocityMaxUnits[input.currency])
    flags.push('VELOCITY_VALUE');
  if (config.sanctionedAddresses.has(input.address.toLowerCase())) flags.push('SANCTIONED_ADDRESS');
  return flags;
}

/** Defaults: 10 ETH / 20,000 USDT per withdrawal; 10 withdrawals or 50 ETH / 100,000 USDT per 24h. */
export const defaultAmlSettings = {
  AML_THRESHOLD_ETH: '10',
  AML_THRESHOLD_USDT: '20000',
  AML_VELOCITY_MAX_COUNT: '10',
  AML_VELOCITY_MAX_ETH: '50',
  AML_VELOCITY_MAX_USDT: '100000',
} as const;

// ---------------------------------------------------------------------------------------------
// Bounded retries

/** Broadcast attempts of one signed transaction before it needs an operator. */
export const defaultMaxBroadcastAttempts = 5;

/**
 * Consecutive errors of one processor step on one withdrawal (a node or core answer the processor
 * cannot use) before it is parked in NEEDS_ATTENTION, so one bad withdrawal never stops the others.
 */
export const defaultMaxStepFailures = 10;

/** States an operator's `failWithdrawal` may abandon from NEEDS_ATTENTION (before the money left). */
export const operatorFailableFrom: ReadonlySet<WithdrawalStatus> = new Set([
  'APPROVED',
  'SIGNED',
  'BROADCAST',
  'MINED',
]);

export function exhaustedRetries(attempts: number, maxAttempts: number): boolean {
  return attempts >= maxAttempts;
}
