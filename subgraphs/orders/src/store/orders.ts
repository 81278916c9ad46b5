/**
 * Read queries of the orders read model. NUMERIC columns come back as text and timestamps'
 * exact text forms feed the pagination cursors.
 */
import type { Queryable } from '@graphex/runtime';
import { canonicalDecimal } from '../domain/decimal.ts';
import type { CursorPosition, PageRequest } from '../domain/cursor.ts';
import type { FillRecord, Liquidity, OrderRecord, OrderStatus } from '../domain/order.ts';

interface OrderRow {
  id: string;
  user_id: string;
  client_order_id: string | null;
  market_id: number;
  symbol: string;
  side: OrderRecord['side'];
  type: OrderRecord['type'];
  time_in_force: OrderRecord['timeInForce'];
  post_only: boolean;
  self_trade_prevention: OrderRecord['selfTradePrevention'];
  price: string | null;
  stop_price: string | null;
  quantity: string | null;
  quote_quantity: string | null;
  filled_quantity: string;
  filled_notional: string;
  status: OrderStatus;
  done_reason: string | null;
  reject_reason: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  created_at_text: string;
  last_sequence: string | number;
}

const orderColumns = `id, user_id, client_order_id, market_id, symbol, side, type, time_in_force, post_only,
  self_trade_prevention, price::text AS price, stop_price::text AS stop_price, quantity::text AS quantity,
  quote_quantity::text AS quote_quantity, filled_quantity::text AS filled_quantity,
  filled_notional::text AS filled_notional, status, done_reason, reject_reason, created_at, updated_at,
  created_at::text AS created_at_text, last_sequence::text AS last_sequence`;

const nullableDecimal = (value: string | null): string | null =>
  value === null ? null : canonicalDecimal(value);

function toOrder(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    userId: row.user_id,
    clientOrderId: row.client_order_id,
    marketId: Number(row.market_id),
    symbol: row.symbol,
    side: row.side,
    type: row.type,
    timeInForce: row.time_in_force,
    postOnly: row.post_only,
    selfTradePrevention: row.self_trade_prevention,
    price: nullableDecimal(row.price),
    stopPrice: nullableDecimal(row.stop_price),
    quantity: nullableDecimal(row.quantity),
    quoteQuantity: nullableDecimal(row.quote_quantity),
    filledQuantity: canonicalDecimal(row.filled_quantity),
    filledNotional: canonicalDecimal(row.filled_notional),
    status: row.status,
    doneReason: row.done_reason,
    rejectReason: row.reject_reason,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastEventSeq: Number(row.last_sequence),
  };
}

export async function ordersByIds(db: Queryable, ids: readonly string[]): Promise<OrderRecord[]> {
  if (ids.length === 0) return [];
  const result = await db.query<OrderRow>(`SELECT ${orderColumns} FROM orders WHERE id = ANY($1::text[])`, [
    [...ids],
  ]);
  return result.rows.map(toOrder);
}

export interface OrderFilter {
  readonly userId: string;
  readonly symbol?: string | null | undefined;
  readonly statuses?: readonly OrderStatus[] | null | undefined;
}

export interface OrderPage {
  readonly edges: ReadonlyArray<{ readonly cursor: CursorPosition; readonly order: OrderRecord }>;
  readonly hasNextPage: boolean;
  readonly totalCount: number;
}

/**
 * One page of a user's orders, newest first with id as tie-breaker — a total order, so keyset
 * pages have neither duplicates nor gaps even when rows arrive between requests.
 */
export async function listUserOrders(
  db: Queryable,
  filter: OrderFilter,
  page: PageRequest,
): Promise<OrderPage> {
  const conditions = ['user_id = $1'];
  const params: unknown[] = [filter.userId];
  if (filter.symbol !== null && filter.symbol !== undefined) {
    params.push(filter.symbol);
    conditions.push(`symbol = $${params.length}`);
  }
  if (filter.statuses !== null && filter.statuses !== undefined) {
    params.push([...filter.statuses]);
    conditions.push(`status = ANY($${params.length}::text[])`);
  }
  const countResult = await db.query<{ total: string | number }>(
    `SELECT count(*)::text AS total FROM orders WHERE ${conditions.join(' AND ')}`,
    params,
  );
  const pageConditions = [...conditions];
  const pageParams = [...params];
  if (page.after) {
    pageParams.push(page.after.createdAt, page.after.id);
    pageConditions.push(`(created_at, id) < ($${pageParams.length - 1}::timestamptz, $${pageParams.length})`);
  }
  pageParams.push(page.limit + 1);
  const rows = await db.query<OrderRow>(
    `SELECT ${orderColumns} FROM orders WHERE ${pageConditions.join(' AND ')}
     ORDER BY created_at DESC, id DESC LIMIT $${pageParams.length}`,
    pageParams,
  );
  const hasNextPage = rows.rows.length > page.limit;
  return {
    edges: rows.rows
      .slice(0, page.limit)
      .map((row) => ({ cursor: { createdAt: row.created_at_text, id: row.id }, order: toOrder(row) })),
    hasNextPage,
    totalCount: Number(countResult.rows[0]?.total ?? 0),
  };
}

interface FillRow {
  trade_id: string;
  order_id: string;
  price: string;
  quantity: string;
  fee: string;
  fee_currency: string;
  liquidity: Liquidity;
  created_at: Date | string;
}

/** Fills of the given orders, oldest first per order. */
export async function fillsByOrderIds(db: Queryable, orderIds: readonly string[]): Promise<FillRecord[]> {
  if (orderIds.length === 0) return [];
  const result = await db.query<FillRow>(
    `SELECT trade_id, order_id, price::text AS price, quantity::text AS quantity, fee::text AS fee, fee_currency, liquidity, created_at
     FROM fills WHERE order_id = ANY($1::text[]) ORDER BY sequence, order_id`,
    [[...orderIds]],
  );
  return result.rows.map((row) => ({
    tradeId: row.trade_id,
    orderId: row.order_id,
    price: canonicalDecimal(row.price),
    quantity: canonicalDecimal(row.quantity),
    fee: canonicalDecimal(row.fee),
    feeCurrency: row.fee_currency,
    liquidity: row.liquidity,
    createdAt: new Date(row.created_at),
  }));
}
