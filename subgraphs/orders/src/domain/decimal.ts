/**
 * Exact decimal arithmetic on bigint for the order read model. A value is `units × 10^-scale`;
 * nothing passes through a JS number. Prices and quantities of different markets have different
 * scales, so operations align scales first.
 */

export interface FixedDecimal {
  readonly units: bigint;
  readonly scale: number;
}

const pattern = /^(-)?(\d{1,60})(?:\.(\d{1,60}))?$/;

/** Parses a plain decimal string ("12.5", "-0.001"); throws on anything else (exponents, floats). */
export function parseFixed(text: string): FixedDecimal {
  const match = pattern.exec(text);
  if (!match) throw new RangeError(`Not a plain decimal: "${text}"`);
  const [, sign, whole = '0', fraction = ''] = match;
  const units = BigInt(whole + fraction);
  return { units: sign ? -units : units, scale: fraction.length };
}

export function isPlainDecimal(text: string): boolean {
  return pattern.test(text);
}

function rescale(value: FixedDecimal, scale: number): bigint {
  if (scale < value.scale) throw new RangeError('rescale would lose digits');
  return value.units * 10n ** BigInt(scale - value.scale);
}

export function subtract(a: FixedDecimal, b: FixedDecimal): FixedDecimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) - rescale(b, scale), scale };
}

export function add(a: FixedDecimal, b: FixedDecimal): FixedDecimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) + rescale(b, scale), scale };
}

export function multiply(a: FixedDecimal, b: FixedDecimal): FixedDecimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** a / b truncated toward zero to `scale` fractional digits. Throws on division by zero. */
export function divideTruncated(a: FixedDecimal, b: FixedDecimal, scale: number): FixedDecimal {
  if (b.units === 0n) throw new RangeError('division by zero');
  // a/b = (a.units / 10^a.scale) / (b.units / 10^b.scale); result units = that × 10^scale.
  const exponent = scale + b.scale - a.scale;
  const numerator = exponent >= 0 ? a.units * 10n ** BigInt(exponent) : a.units;
  const denominator = exponent >= 0 ? b.units : b.units * 10n ** BigInt(-exponent);
  return { units: numerator / denominator, scale };
}

export function compare(a: FixedDecimal, b: FixedDecimal): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const left = rescale(a, scale);
  const right = rescale(b, scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Canonical string: no trailing fractional zeros, no leading zeros, no "-0". */
export function formatFixed(value: FixedDecimal): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = value.scale > 0 ? digits.slice(digits.length - value.scale).replace(/0+$/, '') : '';
  return (negative ? '-' : '') + whole + (fraction ? '.' + fraction : '');
}

/** Canonical form of a decimal string ("0.0100" → "0.01"). */
export function canonicalDecimal(text: string): string {
  return formatFixed(parseFixed(text));
}
