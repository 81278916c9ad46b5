/**
 * Markets and assets as the API shows them, and the pure rules for reference data. No I/O here.
 */
import type { AssetSpec, MarketSpec } from '@graphex/schema';

export type MarketStatus = 'TRADING' | 'HALTED';

export interface Market {
  readonly symbol: string;
  readonly baseCurrency: string;
  readonly quoteCurrency: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly minNotional: string;
  readonly makerFeeRate: string;
  readonly takerFeeRate: string;
  readonly status: MarketStatus;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Asset {
  readonly symbol: string;
  readonly name: string;
  readonly decimals: number;
}

const numericTextPattern = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Canonical decimal string of a NUMERIC read back as text: no leading zeros in the whole part, no
 * trailing zeros in the fraction ("0.0100" → "0.01", "1.000" → "1", "-0.0" → "0").
 */
export function canonicalDecimal(text: string): string {
  const match = numericTextPattern.exec(text);
  if (!match) throw new Error(`Not a plain decimal: "${text}"`);
  const [, sign, whole = '0', fraction = ''] = match;
  const wholeDigits = whole.replace(/^0+(?=\d)/, '');
  const fractionDigits = fraction.replace(/0+$/, '');
  const isZero = /^0*$/.test(wholeDigits) && fractionDigits === '';
  return (sign && !isZero ? '-' : '') + wholeDigits + (fractionDigits ? '.' + fractionDigits : '');
}

/** Number of fractional digits of a canonical decimal ("0.001" → 3, "5" → 0). */
export function fractionDigits(decimal: string): number {
  const dot = canonicalDecimal(decimal).indexOf('.');
  return dot === -1 ? 0 : canonicalDecimal(decimal).length - dot - 1;
}

/** Market symbols are BASE-QUOTE in upper case; anything else can never name a market. */
export function isPlausibleMarketSymbol(symbol: string): boolean {
  return /^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$/.test(symbol);
}

/**
 * Problems with reference data before it is seeded (empty when consistent): every market's assets
 * exist, sizes are positive, the tick fits the quote asset's decimals and the lot the base asset's,
 * fee rates lie in [0, 1).
 */
export function referenceDataProblems(
  assets: readonly AssetSpec[],
  markets: readonly MarketSpec[],
): string[] {
  const problems: string[] = [];
  const decimalsOf = new Map(assets.map((asset) => [asset.symbol, asset.decimals]));
  const positive = (value: string): boolean =>
    numericTextPattern.test(value) && !value.startsWith('-') && /[1-9]/.test(value);
  const rate = (value: string): boolean =>
    numericTextPattern.test(value) && !value.startsWith('-') && /^0(\.\d+)?$/.test(canonicalDecimal(value));
  for (const market of markets) {
    const base = decimalsOf.get(market.baseCurrency);
    const quote = decimalsOf.get(market.quoteCurrency);
    if (market.symbol !== `${market.baseCurrency}-${market.quoteCurrency}`)
      problems.push(`${market.symbol}: symbol is not BASE-QUOTE`);
    if (base === undefined) problems.push(`${market.symbol}: unknown base asset ${market.baseCurrency}`);
    if (quote === undefined) problems.push(`${market.symbol}: unknown quote asset ${market.quoteCurrency}`);
    if (!positive(market.tickSize)) problems.push(`${market.symbol}: tickSize must be positive`);
    else if (quote !== undefined && fractionDigits(market.tickSize) > quote)
      problems.push(`${market.symbol}: tickSize finer than ${market.quoteCurrency} decimals`);
    if (!positive(market.lotSize)) problems.push(`${market.symbol}: lotSize must be positive`);
    else if (base !== undefined && fractionDigits(market.lotSize) > base)
      problems.push(`${market.symbol}: lotSize finer than ${market.baseCurrency} decimals`);
    if (!numericTextPattern.test(market.minNotional) || market.minNotional.startsWith('-'))
      problems.push(`${market.symbol}: minNotional must be >= 0`);
    if (!rate(market.makerFeeRate)) problems.push(`${market.symbol}: makerFeeRate must be in [0, 1)`);
    if (!rate(market.takerFeeRate)) problems.push(`${market.symbol}: takerFeeRate must be in [0, 1)`);
  }
  return problems;
}
