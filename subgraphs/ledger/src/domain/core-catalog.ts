/**
 * The core's assets and markets as the ledger learned them from AssetAdded / MarketAdded events:
 * which currency an `assetId` is, and which assets a market trades. Pure, in memory; the
 * projection stores the same rows and adopts new ones only after the transaction that stored them.
 */

export interface CoreAsset {
  readonly assetId: number;
  readonly symbol: string;
  readonly decimals: number;
}

export interface CoreMarket {
  readonly marketId: number;
  readonly symbol: string;
  readonly baseAssetId: number;
  readonly quoteAssetId: number;
}

export class AssetCatalog {
  #byId = new Map<number, CoreAsset>();
  #bySymbol = new Map<string, CoreAsset>();
  #markets = new Map<number, CoreMarket>();

  add(asset: CoreAsset): void {
    this.#byId.set(asset.assetId, asset);
    this.#bySymbol.set(asset.symbol, asset);
  }

  addMarket(market: CoreMarket): void {
    this.#markets.set(market.marketId, market);
  }

  bySymbol(symbol: string): CoreAsset | undefined {
    return this.#bySymbol.get(symbol);
  }

  byId(assetId: number): CoreAsset | undefined {
    return this.#byId.get(assetId);
  }

  market(marketId: number): CoreMarket | undefined {
    return this.#markets.get(marketId);
  }

  /** Every asset in id order (the order `User.accounts` lists them). */
  all(): CoreAsset[] {
    return [...this.#byId.values()].sort((a, b) => a.assetId - b.assetId);
  }

  /** Every market in id order. */
  markets(): CoreMarket[] {
    return [...this.#markets.values()].sort((a, b) => a.marketId - b.marketId);
  }

  /** A copy that can learn a batch's new assets and markets without touching this one. */
  clone(): AssetCatalog {
    const copy = new AssetCatalog();
    for (const asset of this.#byId.values()) copy.add(asset);
    for (const market of this.#markets.values()) copy.addMarket(market);
    return copy;
  }
}
