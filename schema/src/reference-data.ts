/**
 * Reference data seeded on first start (CONTRACT.md "Reference data"). Every service reads assets
 * and markets from here so that decimals, tick and lot sizes agree everywhere. Sizes are exact
 * decimal strings; services convert them to integer base units with `parseDecimal`.
 */

export interface AssetSpec {
  readonly symbol: string;
  readonly name: string;
  /** Number of decimals of one base unit (BTC 8: 1 satoshi = 0.00000001 BTC). */
  readonly decimals: number;
}

export interface MarketSpec {
  readonly symbol: string;
  readonly baseCurrency: string;
  readonly quoteCurrency: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly minNotional: string;
  readonly makerFeeRate: string;
  readonly takerFeeRate: string;
}

export const referenceAssets: readonly AssetSpec[] = [
  { symbol: 'BTC', name: 'Bitcoin', decimals: 8 },
  { symbol: 'ETH', name: 'Ether', decimals: 18 },
  { symbol: 'USDT', name: 'Tether USD', decimals: 6 },
];

export const defaultMakerFeeRate = '0.001';
export const defaultTakerFeeRate = '0.002';

export const referenceMarkets: readonly MarketSpec[] = [
  {
    symbol: 'BTC-USDT',
    baseCurrency: 'BTC',
    quoteCurrency: 'USDT',
    tickSize: '0.01',
    lotSize: '0.00001',
    minNotional: '1',
    makerFeeRate: defaultMakerFeeRate,
    takerFeeRate: defaultTakerFeeRate,
  },
  {
    symbol: 'ETH-USDT',
    baseCurrency: 'ETH',
    quoteCurrency: 'USDT',
    tickSize: '0.01',
    lotSize: '0.0001',
    minNotional: '1',
    makerFeeRate: defaultMakerFeeRate,
    takerFeeRate: defaultTakerFeeRate,
  },
  {
    symbol: 'ETH-BTC',
    baseCurrency: 'ETH',
    quoteCurrency: 'BTC',
    tickSize: '0.000001',
    lotSize: '0.001',
    minNotional: '0.0001',
    makerFeeRate: defaultMakerFeeRate,
    takerFeeRate: defaultTakerFeeRate,
  },
];

export function assetSpec(symbol: string): AssetSpec | undefined {
  return referenceAssets.find((asset) => asset.symbol === symbol);
}
