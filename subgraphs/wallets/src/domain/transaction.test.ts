import { describe, expect, it } from 'vitest';
import { anonymous } from '@graphex/runtime';
import { userIdentity } from '@graphex/runtime/testing';
import { canReadWalletOf, depositCurrency, pageSize } from './transaction.ts';

const code = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code;
  }
  return undefined;
};

describe('wallet rules', () => {
  it('lets the owner, SUPPORT, COMPLIANCE and ADMIN read a wallet', () => {
    expect(canReadWalletOf(userIdentity('a'), 'a')).toBe(true);
    expect(canReadWalletOf(userIdentity('b'), 'a')).toBe(false);
    for (const role of ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const)
      expect(canReadWalletOf(userIdentity('b', role), 'a')).toBe(true);
    expect(canReadWalletOf(anonymous, 'a')).toBe(false);
  });

  it('supports ETH and USDT deposits on Ethereum and nothing else', () => {
    expect(depositCurrency('ETH')).toEqual({ currency: 'ETH', chain: 'ethereum' });
    expect(depositCurrency('USDT')).toEqual({ currency: 'USDT', chain: 'ethereum' });
    for (const currency of ['BTC', 'eth', 'DOGE', '', '__proto__', 'toString'])
      expect(code(() => depositCurrency(currency))).toBe('BAD_USER_INPUT');
  });

  it('bounds page sizes', () => {
    expect(pageSize(undefined)).toBe(50);
    expect(pageSize(200)).toBe(200);
    for (const first of [0, 201, -3]) expect(code(() => pageSize(first))).toBe('BAD_USER_INPUT');
  });
});
