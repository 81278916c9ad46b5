/**
 * The reference assets and markets of CONTRACT.md as core commands (sizes already in base units),
 * plus a tiny sequencer for tests, benchmarks and embedded start-up.
 */
import type { AddAssetInput, AddMarketInput, Command, CommandInput, PlaceOrderInput } from '@graphex/schema';

export const AssetIds = { BTC: 1, ETH: 2, USDT: 3 } as const;
export const MarketIds = { BTC_USDT: 1, ETH_USDT: 2, ETH_BTC: 3 } as const;

const MAX_PRICE_TICKS = 1_000_000_000_000; // 10^10 USDT per BTC at a 0.01 tick: far beyond any real price
const MAX_QUANTITY_LOTS = 1_000_000_000_000;

export const referenceSetupCommands: readonly (AddAssetInput | AddMarketInput)[] = [
  { type: 'AddAsset', assetId: AssetIds.BTC, symbol: 'BTC', decimals: 8 },
  { type: 'AddAsset', assetId: AssetIds.ETH, symbol: 'ETH', decimals: 18 },
  { type: 'AddAsset', assetId: AssetIds.USDT, symbol: 'USDT', decimals: 6 },
  {
    type: 'AddMarket',
    marketId: MarketIds.BTC_USDT,
    symbol: 'BTC-USDT',
    baseAssetId: AssetIds.BTC,
    quoteAssetId: AssetIds.USDT,
    tickSizeQuoteUnits: 10_000n, // 0.01 USDT
    lotSizeBaseUnits: 1_000n, // 0.00001 BTC
    minNotionalQuoteUnits: 1_000_000n, // 1 USDT
    makerFeePpm: 1_000,
    takerFeePpm: 2_000,
    maxPriceTicks: MAX_PRICE_TICKS,
    maxQuantityLots: MAX_QUANTITY_LOTS,
  },
  {
    type: 'AddMarket',
    marketId: MarketIds.ETH_USDT,
    symbol: 'ETH-USDT',
    baseAssetId: AssetIds.ETH,
    quoteAssetId: AssetIds.USDT,
    tickSizeQuoteUnits: 10_000n, // 0.01 USDT
    lotSizeBaseUnits: 100_000_000_000_000n, // 0.0001 ETH
    minNotionalQuoteUnits: 1_000_000n,
    makerFeePpm: 1_000,
    takerFeePpm: 2_000,
    maxPriceTicks: MAX_PRICE_TICKS,
    maxQuantityLots: MAX_QUANTITY_LOTS,
  },
  {
    type: 'AddMarket',
    marketId: MarketIds.ETH_BTC,
    symbol: 'ETH-BTC',
    baseAssetId: AssetIds.ETH,
    quoteAssetId: AssetIds.BTC,
    tickSizeQuoteUnits: 100n, // 0.000001 BTC
    lotSizeBaseUnits: 1_000_000_000_000_000n, // 0.001 ETH
    minNotionalQuoteUnits: 10_000n, // 0.0001 BTC
    makerFeePpm: 1_000,
    takerFeePpm: 2_000,
    maxPriceTicks: MAX_PRICE_TICKS,
    maxQuantityLots: MAX_QUANTITY_LOTS,
  },
];

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
