/**
 * The reference assets and markets of CONTRACT.md as core commands (sizes already in base units),
 * plus a tiny sequencer for tests, benchmarks and embedded start-up.
 */
import {
  referenceAssets,
  referenceMarkets,
  type AddAssetInput,
  type AddMarketInput,
  type Command,
  type CommandInput,
  type PlaceOrderInput,
} from '@graphex/schema';

export const AssetIds = { BTC: 1, ETH: 2, USDT: 3 } as const;
export const MarketIds = { BTC_USDT: 1, ETH_USDT: 2, ETH_BTC: 3 } as const;

const MAX_PRICE_TICKS = 1_000_000_000_000; // 10^10 USDT per BTC at a 0.01 tick: far beyond any real price
const MAX_QUANTITY_LOTS = 1_000_000_000_000;

/**
 * Exact decimal string → integer units of 10^-decimals (the core never parses decimals; this is
 * the embedded start-up edge turning the seeded reference data into commands).
 */
export function decimalToUnits(value: string, decimals: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (match === null) throw new Error(`not a plain decimal: ${value}`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals) throw new Error(`${value} has more than ${decimals} decimals`);
  return BigInt(match[1]! + fraction.padEnd(decimals, '0'));
}

/** The reference assets and markets of @graphex/schema as AddAsset / AddMarket commands. */
export const referenceSetupCommands: readonly (AddAssetInput | AddMarketInput)[] = (() => {
  const commands: (AddAssetInput | AddMarketInput)[] = [];
  const assetIdOf = new Map<string, { assetId: number; decimals: number }>();
  referenceAssets.forEach((asset, i) => {
    assetIdOf.set(asset.symbol, { assetId: i + 1, decimals: asset.decimals });
    commands.push({ type: 'AddAsset', assetId: i + 1, symbol: asset.symbol, decimals: asset.decimals });
  });
  referenceMarkets.forEach((market, i) => {
    const base = assetIdOf.get(market.baseCurrency)!;
    const quote = assetIdOf.get(market.quoteCurrency)!;
    commands.push({
      type: 'AddMarket',
      marketId: i + 1,
      symbol: market.symbol,
      baseAssetId: base.assetId,
      quoteAssetId: quote.assetId,
      tickSizeQuoteUnits: decimalToUnits(market.tickSize, quote.decimals),
      lotSizeBaseUnits: decimalToUnits(market.lotSize, base.decimals),
      minNotionalQuoteUnits: decimalToUnits(market.minNotional, quote.decimals),
      makerFeePpm: Number(decimalToUnits(market.makerFeeRate, 6)),
      takerFeePpm: Number(decimalToUnits(market.takerFeeRate, 6)),
      maxPriceTicks: MAX_PRICE_TICKS,
      maxQuantityLots: MAX_QUANTITY_LOTS,
    });
  });
  return commands;
})();

/** Stamps inputs with contiguous seq numbers and a deterministic clock (tests, benchmarks). */
export class TestSequencer {
  seq: number;
  timeMs: number;
  constructor(lastSeq = 0, startTimeMs = 1_700_000_000_000) {
    this.seq = lastSeq;
    this.timeMs = startTimeMs;
  }
  stamp(input: CommandInput): Command {
    this.seq += 1;
    this.timeMs += 1;
    return { ...input, seq: this.seq, timeMs: this.timeMs } as Command;
  }
}

/** A PlaceOrder input with defaults (GTC limit, no STP, no clientOrderId). */
export function limitOrder(
  userId: number,
  marketId: number,
  side: 'BUY' | 'SELL',
  priceTicks: number,
  quantityLots: number,
  extra: Partial<Omit<PlaceOrderInput, 'type'>> = {},
): PlaceOrderInput {
  return {
    type: 'PlaceOrder',
    userId,
    marketId,
    side,
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    priceTicks,
    stopPriceTicks: null,
    quantityLots,
    quoteBudgetUnits: null,
    postOnly: false,
    selfTradePrevention: 'NONE',
    clientOrderId: null,
    ...extra,
  };
}
