import { describe, expect, it } from 'vitest';
import { referenceAssets, referenceMarkets } from '@graphex/schema';
import {
  canonicalDecimal,
  fractionDigits,
  isPlausibleMarketSymbol,
  referenceDataProblems,
} from './market.ts';

describe('canonicalDecimal', () => {
  it.each([
    ['0.0100', '0.01'],
    ['1.000', '1'],
    ['0001.50', '1.5'],
    ['0', '0'],
    ['-0.000', '0'],
    ['-12.3400', '-12.34'],
    ['0.000000000000000001', '0.000000000000000001'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalDecimal(input)).toBe(expected);
  });

  it('refuses what is not a plain decimal', () => {
    for (const bad of ['1e-8', 'NaN', '', '.5', '1.', ' 1']) expect(() => canonicalDecimal(bad)).toThrow();
  });

  it('counts fractional digits canonically', () => {
    expect(fractionDigits('0.0010')).toBe(3);
    expect(fractionDigits('5.000')).toBe(0);
  });
});

describe('isPlausibleMarketSymbol', () => {
  it('accepts BASE-QUOTE and refuses the rest', () => {
    expect(isPlausibleMarketSymbol('BTC-USDT')).toBe(true);
    for (const bad of [
      'btc-usdt',
      'BTCUSDT',
      'BTC-',
      '-USDT',
      'BTC-USDT-X',
      "BTC-USDT'; --",
      'A'.repeat(40),
    ]) {
      expect(isPlausibleMarketSymbol(bad)).toBe(false);
    }
  });
});

describe('referenceDataProblems', () => {
  it('finds none in the contract reference data', () => {
    expect(referenceDataProblems(referenceAssets, referenceMarkets)).toEqual([]);
  });

  it('names each inconsistency', () => {
    const market = referenceMarkets[0]!;
    const problems = referenceDataProblems(referenceAssets, [
      { ...market, symbol: 'BTC-USD', quoteCurrency: 'USD' },
      { ...market, tickSize: '0.0000001' },
      { ...market, lotSize: '0' },
      { ...market, makerFeeRate: '1.5' },
      { ...market, takerFeeRate: '-0.1' },
    ]);
    expect(problems).toEqual([
      'BTC-USD: unknown quote asset USD',
      'BTC-USDT: tickSize finer than USDT decimals',
      'BTC-USDT: lotSize must be positive',
      'BTC-USDT: makerFeeRate must be in [0, 1)',
      'BTC-USDT: takerFeeRate must be in [0, 1)',
    ]);
  });
});
