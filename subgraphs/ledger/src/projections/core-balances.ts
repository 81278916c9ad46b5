/**
 * Projection of the core's balances: AssetAdded → `core_assets`, BalanceChanged (the totals of one
 * user in one asset after a command) → `core_balances`. A batch commits in one transaction with
 * the stored position, so redelivery changes nothing and a replay from 0 into empty tables
 * rebuilds the same balances.
 */
import type { Database, Queryable } from '@graphex/runtime';
import type { PublicCoreEvent } from '@graphex/schema';
import type { UserAccountBalance } from '../domain/accounts.ts';

export const coreStream = 'core';
export const maxEventsPerBatch = 1000;

export class BalanceProjectionError extends Error {
  override name = 'BalanceProjectionError';
}

export interface CoreAsset {
  readonly assetId: number;
  readonly symbol: string;
  readonly decimals: number;
}

/** The core's assets by id and by symbol; adopted only after the transaction that stored them. */
export class AssetCatalog {
  #byId = new Map<number, CoreAsset>();
  #bySymbol = new Map<string, CoreAsset>();

  add(asset: CoreAsset): void {
    this.#byId.set(asset.assetId, asset);
    this.#bySymbol.set(asset.symbol, asset);
  }

  bySymbol(symbol: string): CoreAsset | undefined {
    return this.#bySymbol.get(symbol);
  }

  byId(assetId: number): CoreAsset | undefined {
    return this.#byId.get(assetId);
  }

  /** Every asset in id order (the order `User.accounts` lists them). */
  all(): CoreAsset[] {
    return [...this.#byId.values()].sort((a, b) => a.assetId - b.assetId);
  }
}

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
  return into;
}

/** Applies consecutive core events (≤ maxEventsPerBatch) in one transaction; returns the new position. */
export async function applyBalanceEvents(
  db: Database,
  catalog: AssetCatalog,
  events: readonly PublicCoreEvent[],
): Promise<number> {
  if (events.length > maxEventsPerBatch)
    throw new RangeError(`At most ${maxEventsPerBatch} events per batch`);
  const added: CoreAsset[] = [];
  const position = await db.transaction(async (tx) => {
    await tx.query(
      'INSERT INTO projection_positions (stream, last_sequence) VALUES ($1, 0) ON CONFLICT (stream) DO NOTHING',
      [coreStream],
    );
    const locked = await tx.query<{ last_sequence: string }>(
      'SELECT last_sequence::text AS last_sequence FROM projection_positions WHERE stream = $1 FOR UPDATE',
      [coreStream],
    );
    let position = Number(locked.rows[0]!.last_sequence);
    const fresh = events.filter((event) => event.eventSeq > position);
    if (fresh.length === 0) return position;
    if (fresh[0]!.eventSeq !== position + 1)
      throw new BalanceProjectionError(
        `Gap in the core event log: at ${position}, next event ${fresh[0]!.eventSeq}.`,
      );
    // Latest totals per (user, asset) in this batch: one row write each.
    const latest = new Map<string, Extract<PublicCoreEvent, { type: 'BalanceChanged' }>>();
    for (const event of fresh) {
      if (event.eventSeq !== position + 1)
        throw new BalanceProjectionError(`Events are not consecutive at eventSeq ${event.eventSeq}.`);
      position = event.eventSeq;
      if (event.type === 'AssetAdded') {
        const asset = { assetId: event.assetId, symbol: event.symbol, decimals: event.decimals };
        await tx.query(
          `INSERT INTO core_assets (asset_id, symbol, decimals) VALUES ($1, $2, $3)
           ON CONFLICT (asset_id) DO UPDATE SET symbol = excluded.symbol, decimals = excluded.decimals`,
          [asset.assetId, asset.symbol, asset.decimals],
        );
        added.push(asset);
      } else if (event.type === 'BalanceChanged') {
        latest.set(`${event.userId}\u0000${event.assetId}`, event);
      }
    }
    if (latest.size > 0) {
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
    await tx.query('UPDATE projection_positions SET last_sequence = $2 WHERE stream = $1', [
      coreStream,
      position,
    ]);
    return position;
  });
  for (const asset of added) catalog.add(asset);
  return position;
}

/** A user's balance in every asset the core knows (zero where nothing was ever booked). */
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
      currency: asset.symbol,
      decimals: asset.decimals,
      availableUnits: row ? BigInt(row.available) : 0n,
      lockedUnits: row ? BigInt(row.locked) : 0n,
    };
  });
}
