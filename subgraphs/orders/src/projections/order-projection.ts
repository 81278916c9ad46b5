/**
 * The orders read model's only writer: applies the matching core's order events (DESIGN.md rule 4).
 * Idempotent: each event carries its stream (one per core shard) and that stream's sequence; an
 * event at or below the stream's recorded position was applied before and changes nothing, so
 * redelivery and full replays are safe. Each event (or batch) commits in one transaction with the
 * new position.
 *
 * The core integration (issue 4) maps core events onto `OrderProjectionEvent`; tests use it too.
 */
import type { Database, Queryable } from '@graphex/runtime';
import { canonicalDecimal } from '../domain/decimal.ts';
import { fillStateProblems, orderStateProblems, type FillState, type OrderState } from '../domain/order.ts';

export type OrderProjectionEvent =
  /** An order was accepted, or its status changed (cancelled, filled, expired, triggered, ...). */
  | {
      readonly type: 'ORDER_UPDATED';
      readonly stream: string;
      readonly sequence: bigint;
      readonly order: OrderState;
    }
  /** One order executed (part of) its quantity in a trade. */
  | {
      readonly type: 'ORDER_FILLED';
      readonly stream: string;
      readonly sequence: bigint;
      readonly fill: FillState;
    };

export type ApplyOutcome = 'applied' | 'duplicate';

/** Thrown when an event contradicts the read model: the core and this projection disagree. */
export class ProjectionInvariantError extends Error {
  override name = 'ProjectionInvariantError';
}

function assertEvent(event: OrderProjectionEvent): void {
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(event.stream))
    throw new ProjectionInvariantError(`Invalid stream name "${event.stream}"`);
  if (typeof event.sequence !== 'bigint' || event.sequence <= 0n)
    throw new ProjectionInvariantError('Event sequence must be a positive bigint');
  const problems =
    event.type === 'ORDER_UPDATED' ? orderStateProblems(event.order) : fillStateProblems(event.fill);
  if (problems.length > 0)
    throw new ProjectionInvariantError(
      `Invalid ${event.type} event ${event.stream}#${event.sequence}: ${problems.join('; ')}`,
    );
}

/** Claims `sequence` on `stream`; false when it (or a later event) was already applied. */
async function claimSequence(tx: Queryable, stream: string, sequence: bigint): Promise<boolean> {
  await tx.query(
    'INSERT INTO projection_positions (stream, last_sequence) VALUES ($1, 0) ON CONFLICT (stream) DO NOTHING',
    [stream],
  );
  const claimed = await tx.query(
    'UPDATE projection_positions SET last_sequence = $2 WHERE stream = $1 AND last_sequence < $2 RETURNING stream',
    [stream, sequence.toString()],
  );
  return claimed.rows.length === 1;
}

const nullableDecimal = (value: string | null): string | null =>
  value === null ? null : canonicalDecimal(value);

async function upsertOrder(
  tx: Queryable,
  stream: string,
  sequence: bigint,
  order: OrderState,
): Promise<void> {
  const result = await tx.query<{ user_id: string; symbol: string; side: string; quantity: string }>(
    `INSERT INTO orders (id, user_id, client_order_id, symbol, side, type, time_in_force, post_only, self_trade_prevention,
       price, stop_price, quantity, status, reject_reason, created_at, updated_at, last_stream, last_sequence)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::numeric, $11::numeric, $12::numeric, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (id) DO UPDATE SET
       status = excluded.status,
       reject_reason = excluded.reject_reason,
       price = excluded.price,
       stop_price = excluded.stop_price,
       updated_at = GREATEST(orders.updated_at, excluded.updated_at),
       last_stream = excluded.last_stream,
       last_sequence = excluded.last_sequence
     RETURNING user_id, symbol, side, quantity::text AS quantity`,
    [
      order.id,
      order.userId,
      order.clientOrderId,
      order.symbol,
      order.side,
      order.type,
      order.timeInForce,
      order.postOnly,
      order.selfTradePrevention,
      nullableDecimal(order.price),
      nullableDecimal(order.stopPrice),
      canonicalDecimal(order.quantity),
      order.status,
      order.rejectReason,
      order.createdAt,
      order.updatedAt,
      stream,
      sequence.toString(),
    ],
  );
  const row = result.rows[0];
  // Who placed an order, where and on which side never changes; a mismatch means the core and the
  // read model disagree about the order, which must stop the projection, not be papered over.
  if (
    !row ||
    row.user_id !== order.userId ||
    row.symbol !== order.symbol ||
    row.side !== order.side ||
    canonicalDecimal(row.quantity) !== canonicalDecimal(order.quantity)
  ) {
    throw new ProjectionInvariantError(
      `Order ${order.id} changed owner, market, side or quantity at ${stream}#${sequence}`,
    );
  }
}

async function insertFill(tx: Queryable, stream: string, sequence: bigint, fill: FillState): Promise<void> {
  const order = await tx.query('SELECT id FROM orders WHERE id = $1', [fill.orderId]);
  if (order.rows.length === 0)
    throw new ProjectionInvariantError(
      `Fill ${fill.tradeId} at ${stream}#${sequence} is for unknown order ${fill.orderId}`,
    );
  const inserted = await tx.query(
    `INSERT INTO fills (trade_id, order_id, price, quantity, fee, fee_currency, liquidity, created_at, stream, sequence)
     VALUES ($1, $2, $3::numeric, $4::numeric, $5::numeric, $6, $7, $8, $9, $10)
     ON CONFLICT (order_id, trade_id) DO NOTHING RETURNING trade_id`,
    [
      fill.tradeId,
      fill.orderId,
      canonicalDecimal(fill.price),
      canonicalDecimal(fill.quantity),
      canonicalDecimal(fill.fee),
      fill.feeCurrency,
      fill.liquidity,
      fill.createdAt,
      stream,
      sequence.toString(),
    ],
  );
  if (inserted.rows.length === 0) {
    throw new ProjectionInvariantError(
      `Trade ${fill.tradeId} was already applied to order ${fill.orderId} under another sequence`,
    );
  }
  // The CHECK (filled_quantity <= quantity) refuses an overfill: the transaction rolls back.
  await tx.query(
    `UPDATE orders SET
       filled_quantity = filled_quantity + $2::numeric,
       filled_notional = filled_notional + $3::numeric * $2::numeric,
       updated_at = GREATEST(updated_at, $4),
       last_stream = $5,
       last_sequence = $6
     WHERE id = $1`,
    [
      fill.orderId,
      canonicalDecimal(fill.quantity),
      canonicalDecimal(fill.price),
      fill.createdAt,
      stream,
      sequence.toString(),
    ],
  );
}

async function applyInTransaction(tx: Queryable, event: OrderProjectionEvent): Promise<ApplyOutcome> {
  if (!(await claimSequence(tx, event.stream, event.sequence))) return 'duplicate';
  if (event.type === 'ORDER_UPDATED') await upsertOrder(tx, event.stream, event.sequence, event.order);
  else await insertFill(tx, event.stream, event.sequence, event.fill);
  return 'applied';
}

/** Applies one core event; `duplicate` when it was applied before (nothing changes then). */
export async function applyOrderEvent(db: Database, event: OrderProjectionEvent): Promise<ApplyOutcome> {
  assertEvent(event);
  return db.transaction((tx) => applyInTransaction(tx, event));
}

/** Maximum events per transaction: bounds lock time and memory (TIGER_STYLE: a limit on everything). */
export const maxEventsPerBatch = 1000;

/** Applies events in order in one transaction (all or nothing). */
export async function applyOrderEvents(
  db: Database,
  events: readonly OrderProjectionEvent[],
): Promise<{ applied: number; duplicates: number }> {
  if (events.length > maxEventsPerBatch)
    throw new RangeError(`At most ${maxEventsPerBatch} events per batch`);
  events.forEach(assertEvent);
  return db.transaction(async (tx) => {
    let applied = 0;
    for (const event of events) if ((await applyInTransaction(tx, event)) === 'applied') applied++;
    return { applied, duplicates: events.length - applied };
  });
}

/** Position of a stream (0 when nothing was applied): where a consumer resumes. */
export async function projectionPosition(db: Queryable, stream: string): Promise<bigint> {
  const result = await db.query<{ last_sequence: string | number }>(
    'SELECT last_sequence::text AS last_sequence FROM projection_positions WHERE stream = $1',
    [stream],
  );
  const row = result.rows[0];
  return row ? BigInt(row.last_sequence) : 0n;
}
