import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatDecimal, parseDecimal } from './money.ts';

describe('exact decimals', () => {
  it('parses to base units at the extremes', () => {
    expect(parseDecimal('123456789.123456789012345678', 18)).toBe(123456789123456789012345678n);
    expect(parseDecimal('0.00000001', 8)).toBe(1n);
    expect(parseDecimal('-1.5', 6)).toBe(-1500000n);
    expect(parseDecimal('1.50000000000', 2)).toBe(150n);
  });

  it('refuses malformed input and excess precision with BAD_USER_INPUT', () => {
    for (const bad of ['', '1e5', '0x10', '1.', '.5', ' 1', 'NaN', 'Infinity', '1,5', '--1']) {
      expect(() => parseDecimal(bad, 8)).toThrow(
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }),
      );
    }
    expect(() => parseDecimal('0.000000001', 8)).toThrow(/more than 8 decimal places/);
  });

  it('formats canonically', () => {
    expect(formatDecimal(0n, 8)).toBe('0');
    expect(formatDecimal(1n, 18)).toBe('0.000000000000000001');
    expect(formatDecimal(-150n, 2)).toBe('-1.5');
    expect(formatDecimal(123n, 0)).toBe('123');
  });

  it('round-trips any base-unit amount', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
        fc.integer({ min: 0, max: 18 }),
        (units, decimals) => {
          expect(parseDecimal(formatDecimal(units, decimals), decimals)).toBe(units);
        },
      ),
    );
  });
});
