/**
 * Reference-data repository: seeding on first start and the read queries the resolvers use.
 * NUMERIC columns are selected as text so no amount ever passes through a JS number on either
 * adapter.
 */
import type { Database, Queryable } from '@graphex/runtime';
import type { AssetSpec, MarketSpec } from '@graphex/schema';
import {
  canonicalDecimal,
  referenceDataProblems,
  type Asset,
  type Market,
  type MarketStatus,
} from '../domain/market.ts';

/** Name of the seed in `seed_history`; a new seed (new markets in a later release) gets a new name. */
export const referenceSeedName = 'reference-data-v1';

export interface SeedResult {
  /** False when this database was already seeded (restart): nothing was written. */
  readonly seeded: boolean;
  readonly assets: number;
  readonly markets: number;
}

/**
 * Seeds assets and markets once per database. The `seed_history` row and the data commit together,
 * so a crash mid-seed retries on the next start, and a restart never touches rows an operator
 * changed (fees, halts) or removed. Concurrent starters on PostgreSQL serialize on that row.
 */
export async function seedReferenceData(
  db: Database,
  assets: readonly AssetSpec[],
  markets: readonly MarketSpec[],
): Promise<SeedResult> {
  const problems = referenceDataProblems(assets, markets);
  if (problems.length > 0) throw new Error(`Inconsistent reference data: ${problems.join('; ')}`);
  return db.transaction(async (tx) => {
    const claimed = await tx.query(
      'INSERT INTO seed_history (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING name',
      [referenceSeedName],
    );
    if (claimed.rows.length === 0) return { seeded: false, assets: 0, markets: 0 };
    let assetCount = 0;
    for (const asset of assets) {
      const inserted = await tx.query(
        'INSERT INTO assets (symbol, name, decimals) VALUES ($1, $2, $3) ON CONFLICT (symbol) DO NOTHING RETURNING symbol',
        [asset.symbol, asset.name, asset.decimals],
      );
      assetCount += inserted.rows.length;
    }
    let marketCount = 0;
    for (const market of markets) {
      const inserted = await tx.query(
        `INSERT INTO markets (symbol, base_currency, quote_currency, tick_size, lot_size, min_notional, maker_fee_rate, taker_fee_rate)
         VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6::numeric, $7::numeric, $8::numeric)
         ON CONFLICT (symbol) DO NOTHING RETURNING symbol`,
        [
          market.symbol,
          market.baseCurrency,
          market.quoteCurrency,
          market.tickSize,
          market.lotSize,
          market.minNotional,
          market.makerFeeRate,
          market.takerFeeRate,
        ],
      );
      marketCount += inserted.rows.length;
    }
    return { seeded: true, assets: assetCount, markets: marketCount };
  });
}

interface MarketRow {
  symbol: string;
  base_currency: string;
  quote_currency: string;
  tick_size: string;
  lot_size: string;
  min_notional: string;
  maker_fee_rate: string;
  taker_fee_rate: string;
  status: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const marketColumns = `symbol, base_currency, quote_currency, tick_size::text AS tick_size, lot_size::text AS lot_size,
  min_notional::text AS min_notional, maker_fee_rate::text AS maker_fee_rate, taker_fee_rate::text AS taker_fee_rate,
  status, created_at, updated_at`;

function toMarket(row: MarketRow): Market {
  if (row.status !== 'TRADING' && row.status !== 'HALTED')
    throw new Error(`Market ${row.symbol} has unknown status ${row.status}`);
  return {
    symbol: row.symbol,
    baseCurrency: row.base_currency,
    quoteCurrency: row.quote_currency,
    tickSize: canonicalDecimal(row.tick_size),
    lotSize: canonicalDecimal(row.lot_size),
    minNotional: canonicalDecimal(row.min_notional),
    makerFeeRate: canonicalDecimal(row.maker_fee_rate),
    takerFeeRate: canonicalDecimal(row.taker_fee_rate),
    status: row.status satisfies MarketStatus,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export async function listMarkets(db: Queryable): Promise<Market[]> {
  const result = await db.query<MarketRow>(`SELECT ${marketColumns} FROM markets ORDER BY symbol`);
  return result.rows.map(toMarket);
}

export async function listAssets(db: Queryable): Promise<Asset[]> {
  const result = await db.query<{ symbol: string; name: string; decimals: number }>(
    'SELECT symbol, name, decimals FROM assets ORDER BY symbol',
  );
  return result.rows.map((row) => ({ symbol: row.symbol, name: row.name, decimals: Number(row.decimals) }));
}

/** Operator action (admin API later): halts or resumes trading on a market. Returns the market, or null. */
export async function setMarketStatus(
  db: Queryable,
  symbol: string,
  status: MarketStatus,
): Promise<Market | null> {
  const result = await db.query<MarketRow>(
    `UPDATE markets SET status = $2, updated_at = now() WHERE symbol = $1 RETURNING ${marketColumns}`,
    [symbol, status],
  );
  const row = result.rows[0];
  return row ? toMarket(row) : null;
}

/** Operator action: changes a market's fee rates. Returns the market, or null when unknown. */
export async function setMarketFees(
  db: Queryable,
  symbol: string,
  fees: { readonly makerFeeRate: string; readonly takerFeeRate: string },
): Promise<Market | null> {
  const result = await db.query<MarketRow>(
    `UPDATE markets SET maker_fee_rate = $2::numeric, taker_fee_rate = $3::numeric, updated_at = now()
     WHERE symbol = $1 RETURNING ${marketColumns}`,
    [symbol, fees.makerFeeRate, fees.takerFeeRate],
  );
  const row = result.rows[0];
  return row ? toMarket(row) : null;
}

/**
 * Per-request view of the reference data: the whole table is tiny (a few dozen markets), so one
 * query per request answers `markets`, `market(symbol)` and every `_entities` reference.
 */
export class ReferenceDataView {
  #markets: Promise<Map<string, Market>> | undefined;
  #assets: Promise<Map<string, Asset>> | undefined;
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async markets(): Promise<Market[]> {
    return [...(await this.#marketMap()).values()];
  }

  async market(symbol: string): Promise<Market | null> {
    return (await this.#marketMap()).get(symbol) ?? null;
  }

  async assets(): Promise<Asset[]> {
    return [...(await this.#assetMap()).values()];
  }

  async asset(symbol: string): Promise<Asset | null> {
    return (await this.#assetMap()).get(symbol) ?? null;
  }

  #marketMap(): Promise<Map<string, Market>> {
    this.#markets ??= listMarkets(this.#db).then(
      (markets) => new Map(markets.map((market) => [market.symbol, market])),
    );
    return this.#markets;
  }

  #assetMap(): Promise<Map<string, Asset>> {
    this.#assets ??= listAssets(this.#db).then(
      (assets) => new Map(assets.map((asset) => [asset.symbol, asset])),
    );
    return this.#assets;
  }
}
