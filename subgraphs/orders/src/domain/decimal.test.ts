import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  add,
  canonicalDecimal,
  compare,
  divideTruncated,
  formatFixed,
  multiply,
  parseFixed,
  subtract,
} from './decimal.ts';

describe('fixed decimals', () => {
  it('formats canonically', () => {
    expect(canonicalDecimal('0.0100')).toBe('0.01');
    expect(canonicalDecimal('000.000')).toBe('0');
    expect(canonicalDecimal('-0.0')).toBe('0');
    expect(canonicalDecimal('-12.340')).toBe('-12.34');
    expect(canonicalDecimal('0.000000000000000001')).toBe('0.000000000000000001');
  });

  it('refuses non-plain decimals', () => {
    for (const bad of ['1e5', '.5', '5.', 'NaN', 'Infinity', '0x10', '', ' 1'])
      expect(() => parseFixed(bad)).toThrow(RangeError);
  });

  it('subtracts, adds and multiplies across scales exactly', () => {
    expect(formatFixed(subtract(parseFixed('1'), parseFixed('0.00000001')))).toBe('0.99999999');
    expect(formatFixed(add(parseFixed('0.1'), parseFixed('0.2')))).toBe('0.3');
    expect(formatFixed(multiply(parseFixed('30000.01'), parseFixed('0.00001')))).toBe('0.3000001');
  });

  it('divides with truncation toward zero', () => {
    expect(formatFixed(divideTruncated(parseFixed('10'), parseFixed('3'), 4))).toBe('3.3333');
    expect(formatFixed(divideTruncated(parseFixed('0.6000002'), parseFixed('0.00002'), 18))).toBe('30000.01');
    expect(() => divideTruncated(parseFixed('1'), parseFixed('0'), 2)).toThrow(RangeError);
  });

  it('an average of fills at one price is that price, at any scale (property)', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 12 }))
      .map(([units, scale]) => formatFixed({ units, scale }));
    fc.assert(
      fc.property(decimal, fc.array(decimal, { minLength: 1, maxLength: 5 }), (price, quantities) => {
        const p = parseFixed(price);
        let notional = parseFixed('0');
        let quantity = parseFixed('0');
        for (const q of quantities) {
          notional = add(notional, multiply(p, parseFixed(q)));
          quantity = add(quantity, parseFixed(q));
        }
        expect(compare(divideTruncated(notional, quantity, 18), p)).toBe(0);
      }),
    );
  });
});
