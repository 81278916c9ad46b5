/**
 * The orders read model's only writer: applies batches of the matching core's public events
 * (DESIGN.md rule 4). A batch commits in ONE database transaction together with the stored
 * position (the last applied `eventSeq`), so redelivery and replays change nothing and replaying
 * from 0 into empty tables rebuilds the same read model. Several orders instances sharing one
 * database serialize on the position row: each event is applied (and announced) by exactly one.
 * The same transaction records the batch's placements and cancels in the audit outbox.
 */
import { enqueueAudits, type Database, type Queryable } from '@graphex/runtime';
import type { PublicCoreEvent } from '@graphex/schema';
import { MarketCatalog } from '../domain/market.ts';
import type { OrderRecord } from '../domain/order.ts';
import {
  foldOrderEvents,
  orderIdsOf,
  ProjectionInvariantError,
  type NewFill,
  type OrderNotification,
} from '../domain/order-fold.ts';
import { orderAuditRecords } from '../domain/order-audit.ts';
import { ordersByIds } from '../store/orders.ts';

export { ProjectionInvariantError } from '../domain/order-fold.ts';

/** The core's event log is one stream; its sequence is `eventSeq`. */
export const coreStream = 'core';

/** Maximum events per transaction: bounds lock time and memory (TIGER_STYLE: a limit on everything). */
export const maxEventsPerBatch = 1000;

export interface ProjectionBatchResult {
  /** Events applied by this call (0 when another instance or an earlier call had applied them). */
  readonly applied: number;
  /** Events at or below the stored position: applied before, skipped. */
  readonly skipped: number;
  /** Stored position after the batch. */
  readonly position: number;
  /** What changed, for subscribers, in event order (empty for skipped events). */
  readonly notifications: readonly OrderNotification[];
}

/** Position of the stream (0 when nothing was applied): where a consumer resumes. */
export async function projectionPosition(db: Queryable, stream = coreStream): Promise<number> {
  const result = await db.query<{ last_sequence: string | number }>(
    'SELECT last_sequence::text AS last_sequence FROM projection_positions WHERE stream = $1',
    [stream],
  );
  const row = result.rows[0];
  return row ? Number(row.last_sequence) : 0;
}

/** The assets and markets the projection has stored (what the core announced so far). */
export async function loadCatalog(db: Queryable): Promise<MarketCatalog> {
  const catalog = new MarketCatalog();
  // Markets first, then assets: another instance's projection may commit while we read, and an
  // asset is committed no later than any market naming it, so the assets read second cover every
  // market read first (READ COMMITTED; a single-connection PGlite sees no interleaving at all).
  const markets = await db.query<{
    market_id: number;
    symbol: string;
    base_asset_id: number;
    quote_asset_id: number;
    tick: string;
    lot: string;
    min_notional: string;
    maker_fee_ppm: number;
    taker_fee_ppm: number;
    max_price_ticks: string;
    max_quantity_lots: string;
    halted: boolean;
  }>(
    `SELECT market_id, symbol, base_asset_id, quote_asset_id, tick_size_quote_units::text AS tick,
       lot_size_base_units::text AS lot, min_notional_quote_units::text AS min_notional, maker_fee_ppm,
       taker_fee_ppm, max_price_ticks::text AS max_price_ticks, max_quantity_lots::text AS max_quantity_lots, halted
     FROM core_markets ORDER BY market_id`,
  );
  const assets = await db.query<{ asset_id: number; symbol: string; decimals: number }>(
    'SELECT asset_id, symbol, decimals FROM core_assets ORDER BY asset_id',
  );
  for (const row of assets.rows)
    catalog.addAsset({ assetId: Number(row.asset_id), symbol: row.symbol, decimals: Number(row.decimals) });
  for (const row of markets.rows) {
    catalog.addMarket({
      marketId: Number(row.market_id),
      symbol: row.symbol,
      baseAssetId: Number(row.base_asset_id),
      quoteAssetId: Number(row.quote_asset_id),
      tickSizeQuoteUnits: BigInt(row.tick),
      lotSizeBaseUnits: BigInt(row.lot),
      minNotionalQuoteUnits: BigInt(row.min_notional),
      makerFeePpm: Number(row.maker_fee_ppm),
      takerFeePpm: Number(row.taker_fee_ppm),
      maxPriceTicks: Number(row.max_price_ticks),
      maxQuantityLots: Number(row.max_quantity_lots),
      halted: row.halted,
    });
  }
  return catalog;
}

/**
 * The catalog and the position from one snapshot. Another instance sharing the database may apply
 * batches meanwhile; read at different moments, the catalog could miss a market whose events are
 * already behind the position — events this instance would then never see.
 */
export async function loadCatalogAndPosition(
  db: Database,
): Promise<{ catalog: MarketCatalog; position: number }> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const position = await projectionPosition(tx);
    return { catalog: await loadCatalog(tx), position };
  });
}

/** Locks the position row (creating it at 0); returns the last applied eventSeq. One round trip. */
async function lockPosition(tx: Queryable): Promise<number> {
  const locked = await tx.query<{ last_sequence: string }>(
    `INSERT INTO projection_positions (stream, last_sequence) VALUES ($1, 0)
     ON CONFLICT (stream) DO UPDATE SET last_sequence = projection_positions.last_sequence
     RETURNING last_sequence::text AS last_sequence`,
    [coreStream],
  );
  return Number(locked.rows[0]!.last_sequence);
}

async function storeCatalog(tx: Queryable, events: readonly PublicCoreEvent[]): Promise<void> {
  for (const event of events) {
    if (event.type === 'AssetAdded') {
      await tx.query(
        `INSERT INTO core_assets (asset_id, symbol, decimals) VALUES ($1, $2, $3)
         ON CONFLICT (asset_id) DO UPDATE SET symbol = excluded.symbol, decimals = excluded.decimals`,
        [event.assetId, event.symbol, event.decimals],
      );
    } else if (event.type === 'MarketAdded') {
      const m = event.market;
      await tx.query(
        `INSERT INTO core_markets (market_id, symbol, base_asset_id, quote_asset_id, tick_size_quote_units,
           lot_size_base_units, min_notional_quote_units, maker_fee_ppm, taker_fee_ppm, max_price_ticks, max_quantity_lots)
         VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8, $9, $10, $11)
         ON CONFLICT (market_id) DO NOTHING`,
        [
          m.marketId,
          m.symbol,
          m.baseAssetId,
          m.quoteAssetId,
          m.tickSizeQuoteUnits.toString(),
          m.lotSizeBaseUnits.toString(),
          m.minNotionalQuoteUnits.toString(),
          m.makerFeePpm,
          m.takerFeePpm,
          m.maxPriceTicks,
          m.maxQuantityLots,
        ],
      );
    } else if (event.type === 'MarketStatusChanged') {
      await tx.query('UPDATE core_markets SET halted = $2 WHERE market_id = $1', [
        event.marketId,
        event.halted,
      ]);
    }
  }
}

const iso = (date: Date): string => date.toISOString();

async function upsertOrders(tx: Queryable, orders: readonly OrderRecord[]): Promise<void> {
  if (orders.length === 0) return;
  // Column arrays through unnest: one statement per batch, and much cheaper to parse than JSON.
  const column = <T>(pick: (order: OrderRecord) => T): T[] => orders.map(pick);
  const result = await tx.query(
    `INSERT INTO orders (id, user_id, client_order_id, market_id, symbol, side, type, time_in_force, post_only,
       self_trade_prevention, price, stop_price, quantity, quote_quantity, filled_quantity, filled_notional, status,
       done_reason, reject_reason, created_at, updated_at, last_stream, last_sequence)
     SELECT id, user_id, client_order_id, market_id, symbol, side, type, time_in_force, post_only,
       self_trade_prevention, price, stop_price, quantity, quote_quantity, filled_quantity, filled_notional, status,
       done_reason, reject_reason, created_at, updated_at, '${coreStream}', last_sequence
     FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::text[], $8::text[],
       $9::boolean[], $10::text[], $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[], $15::numeric[],
       $16::numeric[], $17::text[], $18::text[], $19::text[], $20::timestamptz[], $21::timestamptz[], $22::bigint[])
       AS r(id, user_id, client_order_id, market_id, symbol, side, type, time_in_force, post_only,
         self_trade_prevention, price, stop_price, quantity, quote_quantity, filled_quantity, filled_notional, status,
         done_reason, reject_reason, created_at, updated_at, last_sequence)
     ON CONFLICT (id) DO UPDATE SET
       price = excluded.price, stop_price = excluded.stop_price, quantity = excluded.quantity,
       filled_quantity = excluded.filled_quantity, filled_notional = excluded.filled_notional,
       status = excluded.status, done_reason = excluded.done_reason, updated_at = excluded.updated_at,
       last_stream = excluded.last_stream, last_sequence = excluded.last_sequence
     WHERE orders.last_sequence < excluded.last_sequence`,
    [
      column((o) => o.id),
      column((o) => o.userId),
      column((o) => o.clientOrderId),
      column((o) => o.marketId),
      column((o) => o.symbol),
      column((o) => o.side),
      column((o) => o.type),
      column((o) => o.timeInForce),
      column((o) => o.postOnly),
      column((o) => o.selfTradePrevention),
      column((o) => o.price),
      column((o) => o.stopPrice),
      column((o) => o.quantity),
      column((o) => o.quoteQuantity),
      column((o) => o.filledQuantity),
      column((o) => o.filledNotional),
      column((o) => o.status),
      column((o) => o.doneReason),
      column((o) => o.rejectReason),
      column((o) => iso(o.createdAt)),
      column((o) => iso(o.updatedAt)),
      column((o) => String(o.lastEventSeq)),
    ],
  );
  if (result.rowCount !== orders.length)
    throw new ProjectionInvariantError(
      `Wrote ${result.rowCount} of ${orders.length} orders: a row moved backwards.`,
    );
}

async function insertFills(tx: Queryable, fills: readonly NewFill[]): Promise<void> {
  if (fills.length === 0) return;
  const column = <T>(pick: (entry: NewFill) => T): T[] => fills.map(pick);
  const result = await tx.query(
    `INSERT INTO fills (trade_id, order_id, price, quantity, fee, fee_currency, liquidity, created_at, stream, sequence)
     SELECT trade_id, order_id, price, quantity, fee, fee_currency, liquidity, created_at, '${coreStream}', sequence
     FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::text[], $7::text[],
       $8::timestamptz[], $9::bigint[])
       AS r(trade_id, order_id, price, quantity, fee, fee_currency, liquidity, created_at, sequence)
     ON CONFLICT (order_id, trade_id) DO NOTHING`,
    [
      column((e) => e.fill.tradeId),
      column((e) => e.fill.orderId),
      column((e) => e.fill.price),
      column((e) => e.fill.quantity),
      column((e) => e.fill.fee),
      column((e) => e.fill.feeCurrency),
      column((e) => e.fill.liquidity),
      column((e) => iso(e.fill.createdAt)),
      column((e) => String(e.eventSeq)),
    ],
  );
  if (result.rowCount !== fills.length)
    throw new ProjectionInvariantError('A trade was applied to an order twice under different sequences.');
}

/** Live orders one `WrittenOrders` keeps at most (oldest forgotten first: they are read again). */
export const writtenOrdersMax = 20_000;

/**
 * The live orders this instance's projection last wrote, as written, and the position they are
 * current at. Only the projection writes orders, under the position lock: while the stored
 * position is still `position`, nobody changed these rows, and a batch need not read them back.
 * Any other position (another instance applied batches meanwhile) empties it.
 */
export class WrittenOrders {
  position = -1;
  readonly orders = new Map<string, OrderRecord>();

  /** Rows of `ids` known here when the stored position is `position`; the rest must be read. */
  take(position: number, ids: Iterable<string>): { known: OrderRecord[]; missing: string[] } {
    if (position !== this.position) {
      this.orders.clear();
      this.position = -1;
    }
    const known: OrderRecord[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const order = this.orders.get(id);
      if (order) known.push(order);
      else missing.push(id);
    }
    return { known, missing };
  }

  /** After a commit that moved the stored position to `position`. */
  committed(position: number, changed: readonly OrderRecord[]): void {
    this.position = position;
    for (const order of changed) {
      this.orders.delete(order.id);
      if (
        order.status === 'OPEN' ||
        order.status === 'PARTIALLY_FILLED' ||
        order.status === 'PENDING_TRIGGER'
      )
        this.orders.set(order.id, order);
    }
    while (this.orders.size > writtenOrdersMax) this.orders.delete(this.orders.keys().next().value!);
  }
}

/**
 * Applies consecutive core events (at most `maxEventsPerBatch`) in one transaction. `catalog` is
 * the service's live catalog: it adopts the batch's market changes only once they committed.
 * `written` (optional) spares reading back the rows this instance wrote in its previous batches.
 */
export async function applyCoreEvents(
  db: Database,
  catalog: MarketCatalog,
  events: readonly PublicCoreEvent[],
  written?: WrittenOrders,
): Promise<ProjectionBatchResult> {
  if (events.length > maxEventsPerBatch)
    throw new RangeError(`At most ${maxEventsPerBatch} events per batch`);
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.eventSeq !== events[i - 1]!.eventSeq + 1)
      throw new ProjectionInvariantError(`Events are not consecutive at eventSeq ${events[i]!.eventSeq}.`);
  }
  // Catalog events are idempotent: learn them even when another instance applied this batch.
  const working = catalog.clone();
  for (const event of events) working.apply(event);
  const result = await db.transaction(async (tx) => {
    const position = await lockPosition(tx);
    const fresh = events.filter((event) => event.eventSeq > position);
    if (fresh.length === 0) return { applied: 0, skipped: events.length, position, notifications: [] };
    if (fresh[0]!.eventSeq !== position + 1) {
      throw new ProjectionInvariantError(
        `Gap in the core event log: stored position ${position}, next event ${fresh[0]!.eventSeq}.`,
      );
    }
    await storeCatalog(tx, fresh);
    // Orders created before this batch that its events change.
    const acceptedHere = new Set(
      fresh.filter((e) => e.type === 'OrderAccepted').map((e) => String((e as { orderId: number }).orderId)),
    );
    const toLoad = new Set<string>();
    for (const event of fresh) for (const id of orderIdsOf(event)) if (!acceptedHere.has(id)) toLoad.add(id);
    const { known, missing } = written ? written.take(position, toLoad) : { known: [], missing: [...toLoad] };
    const orders = new Map([...known, ...(await ordersByIds(tx, missing))].map((order) => [order.id, order]));
    const folded = foldOrderEvents({ catalog: working.clone(), orders, events: fresh });
    const changed = [...folded.changed].map((id) => orders.get(id)!);
    await upsertOrders(tx, changed);
    await insertFills(tx, folded.fills);
    // Placements and cancels are audited with the read model they change (one statement a batch).
    await enqueueAudits(tx, orderAuditRecords(fresh, orders));
    const last = fresh.at(-1)!.eventSeq;
    await tx.query('UPDATE projection_positions SET last_sequence = $2 WHERE stream = $1', [
      coreStream,
      last,
    ]);
    return {
      applied: fresh.length,
      skipped: events.length - fresh.length,
      position: last,
      notifications: folded.notifications,
      changed,
    };
  });
  catalog.adopt(working);
  const { changed, ...outcome } = { changed: [] as OrderRecord[], ...result };
  if (written && outcome.applied > 0) written.committed(outcome.position, changed);
  return outcome;
}
