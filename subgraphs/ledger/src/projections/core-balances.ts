/**
 * The core's own view, projected as reported: AssetAdded → `core_assets`, MarketAdded →
 * `core_markets`, BalanceChanged (the totals of one user in one asset after a command) →
 * `core_balances`. Written in the same transaction as the journal (`core-projection.ts`), so at
 * every projection position the ledger can be reconciled against the core at the same sequence.
 */
import type { Queryable } from '@graphex/runtime';
import type { PublicCoreEvent } from '@graphex/schema';
import type { UserAccountBalance } from '../domain/accounts.ts';
import { AssetCatalog, type CoreAsset, type CoreMarket } from '../domain/core-catalog.ts';

export const coreStream = 'core';

export async function projectionPosition(db: Queryable): Promise<number> {
  const result = await db.query<{ last_sequence: string }>(
    'SELECT last_sequence::text AS last_sequence FROM projection_positions WHERE stream = $1',
    [coreStream],
  );
  return result.rows[0] ? Number(result.rows[0].last_sequence) : 0;
}

export async function loadAssets(db: Queryable, into = new AssetCatalog()): Promise<AssetCatalog> {
  const result = await db.query<{ asset_id: number; symbol: string; decimals: number }>(
    'SELECT asset_id, symbol, decimals FROM core_assets ORDER BY asset_id',
  );
  for (const row of result.rows)
    into.add({ assetId: Number(row.asset_id), symbol: row.symbol, decimals: Number(row.decimals) });
  const markets = await db.query<{
    market_id: number;
    symbol: string;
    base_asset_id: number;
    quote_asset_id: number;
  }>('SELECT market_id, symbol, base_asset_id, quote_asset_id FROM core_markets ORDER BY market_id');
  for (const row of markets.rows)
    into.addMarket({
      marketId: Number(row.market_id),
      symbol: row.symbol,
      baseAssetId: Number(row.base_asset_id),
      quoteAssetId: Number(row.quote_asset_id),
    });
  return into;
}

/** What the AssetAdded / MarketAdded events among `events` add to the catalog. */
export function catalogAdditions(events: readonly PublicCoreEvent[]): {
  assets: CoreAsset[];
  markets: CoreMarket[];
} {
  const assets: CoreAsset[] = [];
  const markets: CoreMarket[] = [];
  for (const event of events) {
    if (event.type === 'AssetAdded')
      assets.push({ assetId: event.assetId, symbol: event.symbol, decimals: event.decimals });
    else if (event.type === 'MarketAdded')
      markets.push({
        marketId: event.market.marketId,
        symbol: event.market.symbol,
        baseAssetId: event.market.baseAssetId,
        quoteAssetId: event.market.quoteAssetId,
      });
  }
  return { assets, markets };
}

/** Stores the batch's AssetAdded / MarketAdded events (no statement for a batch without any). */
export async function storeCatalogEvents(tx: Queryable, events: readonly PublicCoreEvent[]): Promise<void> {
  const { assets, markets } = catalogAdditions(events);
  for (const asset of assets)
    await tx.query(
      `INSERT INTO core_assets (asset_id, symbol, decimals) VALUES ($1, $2, $3)
       ON CONFLICT (asset_id) DO UPDATE SET symbol = excluded.symbol, decimals = excluded.decimals`,
      [asset.assetId, asset.symbol, asset.decimals],
    );
  for (const market of markets)
    await tx.query(
      `INSERT INTO core_markets (market_id, symbol, base_asset_id, quote_asset_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (market_id) DO UPDATE SET symbol = excluded.symbol,
         base_asset_id = excluded.base_asset_id, quote_asset_id = excluded.quote_asset_id`,
      [market.marketId, market.symbol, market.baseAssetId, market.quoteAssetId],
    );
}

/** Upserts the latest BalanceChanged totals per (user, asset) of the batch: one statement. */
export async function storeCoreBalances(tx: Queryable, events: readonly PublicCoreEvent[]): Promise<void> {
  const latest = new Map<string, Extract<PublicCoreEvent, { type: 'BalanceChanged' }>>();
  for (const event of events)
    if (event.type === 'BalanceChanged') latest.set(`${event.userId}\u0000${event.assetId}`, event);
  if (latest.size === 0) return;
  const rows = [...latest.values()].map((e) => ({
    user_id: e.userId,
    asset_id: e.assetId,
    available: e.availableUnits.toString(),
    locked: e.lockedUnits.toString(),
    event_seq: e.eventSeq,
  }));
  await tx.query(
    `INSERT INTO core_balances (user_id, asset_id, available, locked, event_seq)
     SELECT user_id, asset_id, available, locked, event_seq
     FROM jsonb_to_recordset($1::jsonb) AS r(user_id text, asset_id integer, available numeric, locked numeric, event_seq bigint)
     ON CONFLICT (user_id, asset_id) DO UPDATE SET
       available = excluded.available, locked = excluded.locked, event_seq = excluded.event_seq
     WHERE core_balances.event_seq < excluded.event_seq`,
    [JSON.stringify(rows)],
  );
}

/** The core's reported balance of a user in every asset it knows (zero where it reported nothing). */
export async function readCoreAccounts(
  db: Queryable,
  catalog: AssetCatalog,
  userId: string,
): Promise<UserAccountBalance[]> {
  const result = await db.query<{ asset_id: number; available: string; locked: string }>(
    'SELECT asset_id, available::text AS available, locked::text AS locked FROM core_balances WHERE user_id = $1',
    [userId],
  );
  const byAsset = new Map(result.rows.map((row) => [Number(row.asset_id), row]));
  return catalog.all().map((asset) => {
    const row = byAsset.get(asset.assetId);
    return {
      userId,
      currency: asset.symbol,
      decimals: asset.decimals,
      availableUnits: row ? BigInt(row.available) : 0n,
      lockedUnits: row ? BigInt(row.locked) : 0n,
    };
  });
}
