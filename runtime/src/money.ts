/**
 * Exact decimal <-> integer base-unit conversion and the `Decimal` / `DateTime` scalars.
 * Amounts are bigint base units inside, canonical decimal strings at the API. No float, ever.
 */
import { GraphQLScalarType, Kind } from 'graphql';
import { apiError } from '@graphex/schema';

const decimalPattern = /^(-)?(\d{1,40})(?:\.(\d{1,40}))?$/;

/**
 * Parses a decimal string into integer units of 10^-decimals. Refuses (BAD_USER_INPUT) anything
 * that is not a plain decimal or has more fractional digits than `decimals`.
 */
export function parseDecimal(value: string, decimals: number, field = 'amount'): bigint {
  const match = decimalPattern.exec(value);
  if (!match)
    throw apiError('BAD_USER_INPUT', `${field} must be a decimal string like "12.345", got "${value}".`);
  const [, sign, whole, fraction = ''] = match;
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > decimals) {
    throw apiError('BAD_USER_INPUT', `${field} has more than ${decimals} decimal places.`, { field });
  }
  const units = BigInt(whole! + trimmed.padEnd(decimals, '0'));
  return sign ? -units : units;
}

/** Formats integer units of 10^-decimals as a canonical decimal string (no trailing zeros). */
export function formatDecimal(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = decimals > 0 ? digits.slice(digits.length - decimals).replace(/0+$/, '') : '';
  return (negative ? '-' : '') + whole + (fraction ? '.' + fraction : '');
}

function assertDecimalString(value: unknown): string {
  if (typeof value !== 'string' || !decimalPattern.test(value)) {
    throw apiError('BAD_USER_INPUT', 'Decimal values are strings like "0.015" (no exponent, no floats).');
  }
  return value;
}

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number as a string, e.g. "0.00012". Never a float.',
  serialize: (value) => {
    if (typeof value === 'bigint') return value.toString();
    return assertDecimalString(value);
  },
  parseValue: assertDecimalString,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) {
      throw apiError('BAD_USER_INPUT', 'Decimal literals must be strings, e.g. "0.5", never floats.');
    }
    return assertDecimalString(ast.value);
  },
});

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO-8601 instant in UTC, e.g. "2026-01-31T12:00:00.000Z".',
  serialize: (value) => {
    const date = value instanceof Date ? value : new Date(value as string | number);
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime()))
      throw apiError('BAD_USER_INPUT', 'DateTime must be an ISO-8601 string.');
    return date;
  },
  parseLiteral: (ast) => {
    const date = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime()))
      throw apiError('BAD_USER_INPUT', 'DateTime must be an ISO-8601 string.');
    return date;
  },
});
