import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import {
  canTransitionWithdrawal,
  destinationAddress,
  requestFingerprint,
  screenWithdrawal,
  validIdempotencyKey,
  withdrawalCurrency,
  withdrawalStatuses,
  withdrawalTransitions,
  type AmlConfig,
} from './withdrawal.ts';

const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error instanceof GraphQLError ? error.extensions['code'] : error;
  }
  return undefined;
};

describe('withdrawal state machine', () => {
  it('every target is a known state; terminal states have no way out', () => {
    for (const [from, targets] of Object.entries(withdrawalTransitions)) {
      expect(withdrawalStatuses).toContain(from);
      for (const target of targets) expect(withdrawalStatuses).toContain(target);
    }
    expect(withdrawalTransitions.COMPLETED).toEqual([]);
    expect(withdrawalTransitions.RELEASED).toEqual([]);
  });

  it('funds leave only after confirmation and come back only after a failure or rejection', () => {
    expect(canTransitionWithdrawal('CONFIRMED', 'COMPLETED')).toBe(true);
    expect(canTransitionWithdrawal('BROADCAST', 'COMPLETED')).toBe(false);
    expect(canTransitionWithdrawal('MINED', 'COMPLETED')).toBe(false);
    expect(canTransitionWithdrawal('APPROVED', 'RELEASED')).toBe(false);
    expect(canTransitionWithdrawal('FAILED', 'RELEASED')).toBe(true);
    expect(canTransitionWithdrawal('REJECTED', 'RELEASED')).toBe(true);
    // Compliance decides only on reviewed withdrawals; a confirmed one can no longer fail.
    expect(canTransitionWithdrawal('APPROVED', 'REJECTED')).toBe(false);
    expect(canTransitionWithdrawal('CONFIRMED', 'FAILED')).toBe(false);
    // A reorg sends a mined transaction back to BROADCAST (rebroadcast), never to SIGNED.
    expect(canTransitionWithdrawal('MINED', 'BROADCAST')).toBe(true);
    expect(canTransitionWithdrawal('MINED', 'SIGNED')).toBe(false);
  });

  it('every state the processor works on can be parked in NEEDS_ATTENTION and retried back to it', () => {
    for (const status of [
      'REQUESTED',
      'APPROVED',
      'SIGNED',
      'BROADCAST',
      'MINED',
      'CONFIRMED',
      'FAILED',
      'REJECTED',
    ] as const) {
      expect(canTransitionWithdrawal(status, 'NEEDS_ATTENTION')).toBe(true);
      expect(canTransitionWithdrawal('NEEDS_ATTENTION', status)).toBe(true);
    }
    // Decisions and terminal states are never parked.
    for (const status of ['HELD', 'PENDING_REVIEW', 'COMPLETED', 'RELEASED'] as const) {
      expect(canTransitionWithdrawal(status, 'NEEDS_ATTENTION')).toBe(false);
    }
  });
});

describe('withdrawal input', () => {
  const checksummed = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

  it('EIP-55: lower/upper case unchecksummed accepted, mixed case must match, the rest refused', () => {
    expect(destinationAddress(checksummed)).toBe(checksummed);
    expect(destinationAddress(checksummed.toLowerCase())).toBe(checksummed);
    expect(destinationAddress(`0x${checksummed.slice(2).toUpperCase()}`)).toBe(checksummed);
    const typo = checksummed.replace('aA', 'Aa');
    expect(codeOf(() => destinationAddress(typo))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => destinationAddress('0x1234'))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => destinationAddress(`${checksummed}00`))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => destinationAddress('vitalik.eth'))).toBe('BAD_USER_INPUT');
  });

  it('currencies, idempotency keys and fingerprints', () => {
    expect(withdrawalCurrency('USDT')).toBe('USDT');
    expect(codeOf(() => withdrawalCurrency('BTC'))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => validIdempotencyKey(''))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => validIdempotencyKey('a b'))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => validIdempotencyKey('x'.repeat(101)))).toBe('BAD_USER_INPUT');
    expect(requestFingerprint('ETH', 5n, checksummed)).toBe(
      requestFingerprint('ETH', 5n, checksummed.toLowerCase()),
    );
    expect(requestFingerprint('ETH', 5n, checksummed)).not.toBe(requestFingerprint('ETH', 6n, checksummed));
  });
});

describe('AML screening', () => {
  const sanctioned = '0x00000000000000000000000000000000000000aa';
  const config: AmlConfig = {
    amountThresholdUnits: { ETH: 10n, USDT: 1_000n },
    velocityMaxCount: 3,
    velocityMaxUnits: { ETH: 15n, USDT: 5_000n },
    sanctionedAddresses: new Set([sanctioned]),
  };
  const clean = {
    currency: 'ETH' as const,
    amountBaseUnits: 10n,
    address: '0x00000000000000000000000000000000000000bb',
    recentCount: 0,
    recentUnitsInCurrency: 0n,
  };

  it('a withdrawal at the thresholds is clean; one unit more is flagged', () => {
    expect(screenWithdrawal(config, clean)).toEqual([]);
    expect(screenWithdrawal(config, { ...clean, amountBaseUnits: 11n })).toEqual(['AMOUNT_OVER_THRESHOLD']);
    expect(screenWithdrawal(config, { ...clean, recentCount: 2 })).toEqual([]);
    expect(screenWithdrawal(config, { ...clean, recentCount: 3 })).toEqual(['VELOCITY_COUNT']);
    expect(screenWithdrawal(config, { ...clean, recentUnitsInCurrency: 5n })).toEqual([]);
    expect(screenWithdrawal(config, { ...clean, recentUnitsInCurrency: 6n })).toEqual(['VELOCITY_VALUE']);
  });

  it('a sanctioned destination is flagged whatever its case; reasons accumulate', () => {
    expect(
      screenWithdrawal(config, { ...clean, address: sanctioned.toUpperCase().replace('0X', '0x') }),
    ).toEqual(['SANCTIONED_ADDRESS']);
    expect(
      screenWithdrawal(config, { ...clean, amountBaseUnits: 20n, recentCount: 5, address: sanctioned }),
    ).toEqual(['AMOUNT_OVER_THRESHOLD', 'VELOCITY_COUNT', 'VELOCITY_VALUE', 'SANCTIONED_ADDRESS']);
  });
});
