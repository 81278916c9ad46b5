/**
 * A market's integer sizes and the exact conversions between the core's units (price ticks,
 * quantity lots, asset base units) and the API's decimal strings. Pure bigint arithmetic.
 */
import { formatDecimal } from '@graphex/runtime';

export interface MarketScale {
  /** One price tick in quote base units per ONE WHOLE base unit (BTC-USDT 0.01 USDT → 10_000n). */
  readonly tickSizeQuoteUnits: bigint;
  /** One lot in base base units (BTC-USDT 0.00001 BTC → 1_000n satoshi). */
  readonly lotSizeBaseUnits: bigint;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
}

/** Price of `priceTicks` as a decimal in the quote currency per whole base unit. */
export function priceDecimal(scale: MarketScale, priceTicks: number | bigint): string {
  return formatDecimal(BigInt(priceTicks) * scale.tickSizeQuoteUnits, scale.quoteDecimals);
}

/** Quantity of `quantityLots` as a decimal in the base currency. */
export function quantityDecimal(scale: MarketScale, quantityLots: number | bigint): string {
  return formatDecimal(BigInt(quantityLots) * scale.lotSizeBaseUnits, scale.baseDecimals);
}

/** An amount of base-asset base units as a decimal. */
export function baseUnitsDecimal(scale: MarketScale, baseUnits: bigint): string {
  return formatDecimal(baseUnits, scale.baseDecimals);
}

/** A fee rate in parts per million as a decimal ("1000" ppm → "0.001"). */
export function feeRateDecimal(ppm: number): string {
  return formatDecimal(BigInt(ppm), 6);
}
