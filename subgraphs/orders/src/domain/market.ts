/**
 * Markets and assets as the matching core announced them (AssetAdded / MarketAdded /
 * MarketStatusChanged at the start of its event log), and the exact conversions between the
 * core's integers and the API's decimal strings:
 *
 * - price decimal = priceTicks × tickSizeQuoteUnits, in quote base units per ONE whole base unit;
 * - quantity decimal = quantityLots × lotSizeBaseUnits, in base base units.
 *
 * Pure: the projection persists what it learns and rebuilds a catalog at start.
 */
import { formatDecimal } from '@graphex/runtime';
import type { PublicCoreEvent } from '@graphex/schema';

export interface AssetSpec {
  readonly assetId: number;
  readonly symbol: string;
  readonly decimals: number;
}

export interface MarketSpec {
  readonly marketId: number;
  readonly symbol: string;
  readonly base: AssetSpec;
  readonly quote: AssetSpec;
  readonly tickSizeQuoteUnits: bigint;
  readonly lotSizeBaseUnits: bigint;
  readonly minNotionalQuoteUnits: bigint;
  readonly makerFeePpm: number;
  readonly takerFeePpm: number;
  readonly maxPriceTicks: number;
  readonly maxQuantityLots: number;
  readonly halted: boolean;
}

export class CatalogInvariantError extends Error {
  override name = 'CatalogInvariantError';
}

/** The core's assets and markets by id and by symbol. */
export class MarketCatalog {
  readonly #assets = new Map<number, AssetSpec>();
  readonly #markets = new Map<number, MarketSpec>();
  readonly #bySymbol = new Map<string, MarketSpec>();

  /** A copy to change inside a transaction and adopt only once it committed. */
  clone(): MarketCatalog {
    const copy = new MarketCatalog();
    for (const asset of this.#assets.values()) copy.addAsset(asset);
    for (const market of this.#markets.values()) copy.#putMarket(market);
    return copy;
  }

  /** Replaces this catalog's content with `other`'s (after the transaction that built it committed). */
  adopt(other: MarketCatalog): void {
    this.#assets.clear();
    this.#markets.clear();
    this.#bySymbol.clear();
    for (const asset of other.#assets.values()) this.#assets.set(asset.assetId, asset);
    for (const market of other.#markets.values()) this.#putMarket(market);
  }

  addAsset(asset: AssetSpec): void {
    this.#assets.set(asset.assetId, asset);
  }

  #putMarket(market: MarketSpec): void {
    this.#markets.set(market.marketId, market);
    this.#bySymbol.set(market.symbol, market);
  }

  addMarket(
    market: Omit<MarketSpec, 'base' | 'quote'> & { baseAssetId: number; quoteAssetId: number },
  ): void {
    const base = this.#assets.get(market.baseAssetId);
    const quote = this.#assets.get(market.quoteAssetId);
    if (!base || !quote)
      throw new CatalogInvariantError(`Market ${market.symbol} names an asset the core never announced.`);
    const { baseAssetId: _b, quoteAssetId: _q, ...rest } = market;
    this.#putMarket({ ...rest, base, quote });
  }

  setHalted(marketId: number, halted: boolean): void {
    const market = this.#markets.get(marketId);
    if (!market) throw new CatalogInvariantError(`Status change of unknown market ${marketId}.`);
    this.#putMarket({ ...market, halted });
  }

  /**
   * Applies a catalog event (AssetAdded, MarketAdded, MarketStatusChanged); false for every other
   * event type.
   */
  apply(event: PublicCoreEvent): boolean {
    switch (event.type) {
      case 'AssetAdded':
        this.addAsset({ assetId: event.assetId, symbol: event.symbol, decimals: event.decimals });
        return true;
      case 'MarketAdded': {
        const m = event.market;
        this.addMarket({
          marketId: m.marketId,
          symbol: m.symbol,
          baseAssetId: m.baseAssetId,
          quoteAssetId: m.quoteAssetId,
          tickSizeQuoteUnits: m.tickSizeQuoteUnits,
          lotSizeBaseUnits: m.lotSizeBaseUnits,
          minNotionalQuoteUnits: m.minNotionalQuoteUnits,
          makerFeePpm: m.makerFeePpm,
          takerFeePpm: m.takerFeePpm,
          maxPriceTicks: m.maxPriceTicks,
          maxQuantityLots: m.maxQuantityLots,
          halted: false,
        });
        return true;
      }
      case 'MarketStatusChanged':
        this.setHalted(event.marketId, event.halted);
        return true;
      default:
        return false;
    }
  }

  asset(assetId: number): AssetSpec | undefined {
    return this.#assets.get(assetId);
  }

  market(marketId: number): MarketSpec | undefined {
    return this.#markets.get(marketId);
  }

  marketBySymbol(symbol: string): MarketSpec | undefined {
    return this.#bySymbol.get(symbol);
  }

  /** Every market, by id. */
  markets(): MarketSpec[] {
    return [...this.#markets.values()].sort((a, b) => a.marketId - b.marketId);
  }

  assets(): AssetSpec[] {
    return [...this.#assets.values()].sort((a, b) => a.assetId - b.assetId);
  }

  get size(): number {
    return this.#markets.size;
  }
}

/** Price of `priceTicks` as a decimal string in the quote currency. */
export function priceOf(market: MarketSpec, priceTicks: number): string {
  return formatDecimal(BigInt(priceTicks) * market.tickSizeQuoteUnits, market.quote.decimals);
}

/** Base units of `quantityLots`. */
export function baseUnitsOf(market: MarketSpec, quantityLots: number): bigint {
  return BigInt(quantityLots) * market.lotSizeBaseUnits;
}

/** Quantity of `quantityLots` as a decimal string in the base currency. */
export function quantityOf(market: MarketSpec, quantityLots: number): string {
  return formatDecimal(baseUnitsOf(market, quantityLots), market.base.decimals);
}

/**
 * floor(price × quantity) in quote base units — what a trade of `quantityLots` at `priceTicks`
 * pays, exactly as the core rounds it.
 */
export function notionalQuoteUnits(market: MarketSpec, priceTicks: number, quantityLots: number): bigint {
  return (
    (BigInt(priceTicks) * market.tickSizeQuoteUnits * baseUnitsOf(market, quantityLots)) /
    10n ** BigInt(market.base.decimals)
  );
}
