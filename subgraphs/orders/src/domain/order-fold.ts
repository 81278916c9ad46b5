/**
 * Folds the matching core's public events into order records and fills — the one place that knows
 * how core events change an order. Pure: the projection feeds it the rows it loaded, then writes
 * what changed; `placeOrder` / `cancelOrder` feed it the submit outcome's events to answer with the
 * core's verdict (read-your-writes) without waiting for the projection.
 *
 * Status transitions: OrderAccepted → OPEN or PENDING_TRIGGER; OrderTriggered → OPEN; a Trade
 * makes a live order PARTIALLY_FILLED; OrderDone → FILLED, CANCELLED or EXPIRED (IOC remainder,
 * unfilled FOK, self-trade prevention). Idempotent per order: an event at or below the order's
 * `lastEventSeq` was applied before and is skipped.
 */
import type { PublicCoreEvent } from '@graphex/schema';
import { formatDecimal } from '@graphex/runtime';
import { add, compare, formatFixed, multiply, parseFixed } from './decimal.ts';
import { priceOf, quantityOf, type MarketCatalog, type MarketSpec } from './market.ts';
import type { FillRecord, OrderRecord } from './order.ts';

/** An event contradicts the read model: the core and this projection disagree. Stop, don't guess. */
export class ProjectionInvariantError extends Error {
  override name = 'ProjectionInvariantError';
}

/** What subscribers hear: an order's state after one core command, or one fill. */
export type OrderNotification =
  | { readonly kind: 'order'; readonly userId: string; readonly order: OrderRecord }
  | { readonly kind: 'fill'; readonly userId: string; readonly fill: FillRecord };

export interface NewFill {
  readonly eventSeq: number;
  readonly fill: FillRecord;
}

export interface FoldInput {
  /** Catalog events are applied to it (pass a clone inside a transaction). */
  readonly catalog: MarketCatalog;
  /** Orders known before these events, by id; changed in place (records are replaced). */
  readonly orders: Map<string, OrderRecord>;
  readonly events: readonly PublicCoreEvent[];
  /**
   * Only these orders (the mutation path): events of other orders are ignored instead of being
   * an invariant violation.
   */
  readonly only?: ReadonlySet<string>;
}

export interface FoldOutput {
  /** Ids of orders that changed, in first-change order. */
  readonly changed: ReadonlySet<string>;
  readonly fills: readonly NewFill[];
  readonly notifications: readonly OrderNotification[];
}

const orderEventTypes = new Set(['OrderAccepted', 'OrderTriggered', 'OrderAmended', 'OrderDone', 'Trade']);

/** Does this event change some order (so the projection must load its row)? */
export function orderIdsOf(event: PublicCoreEvent): string[] {
  switch (event.type) {
    case 'OrderAccepted':
    case 'OrderTriggered':
    case 'OrderAmended':
    case 'OrderDone':
      return [String(event.orderId)];
    case 'Trade':
      return [String(event.makerOrderId), String(event.takerOrderId)];
    default:
      return [];
  }
}

export function foldOrderEvents(input: FoldInput): FoldOutput {
  const { catalog, orders, only } = input;
  const changed = new Set<string>();
  const fills: NewFill[] = [];
  const notifications: OrderNotification[] = [];
  let dirty: string[] = [];
  let currentSeq = -1;

  /** Indexes of this command's fill notifications: they get their order as the command left it. */
  let fillNotifications: number[] = [];
  const flush = (): void => {
    for (const index of fillNotifications) {
      const notification = notifications[index] as Extract<OrderNotification, { kind: 'fill' }>;
      const knownOrder = orders.get(notification.fill.orderId)!;
      notifications[index] = { ...notification, fill: { ...notification.fill, knownOrder } };
    }
    fillNotifications = [];
    for (const id of dirty) {
      const order = orders.get(id)!;
      notifications.push({ kind: 'order', userId: order.userId, order });
    }
    dirty = [];
  };
  const marketOf = (marketId: number, eventSeq: number): MarketSpec => {
    const market = catalog.market(marketId);
    if (!market) throw new ProjectionInvariantError(`Event ${eventSeq} names unknown market ${marketId}.`);
    return market;
  };
  /** The order an event applies to, or null when it is not ours or was applied before. */
  const target = (orderId: number, eventSeq: number): OrderRecord | null => {
    const id = String(orderId);
    if (only && !only.has(id)) return null;
    const order = orders.get(id);
    if (!order) {
      if (only) return null;
      throw new ProjectionInvariantError(`Event ${eventSeq} changes order ${id}, which was never accepted.`);
    }
    return eventSeq <= order.lastEventSeq ? null : order;
  };
  const put = (order: OrderRecord): void => {
    orders.set(order.id, order);
    changed.add(order.id);
    if (!dirty.includes(order.id)) dirty.push(order.id);
  };

  for (const event of input.events) {
    if (event.seq !== currentSeq) {
      flush();
      currentSeq = event.seq;
    }
    if (catalog.apply(event) || !orderEventTypes.has(event.type)) continue;
    const at = new Date(event.timeMs);
    switch (event.type) {
      case 'OrderAccepted': {
        const id = String(event.orderId);
        if (only && !only.has(id)) break;
        const known = orders.get(id);
        if (known) {
          if (event.eventSeq <= known.lastEventSeq) break;
          throw new ProjectionInvariantError(`Order ${id} accepted twice (event ${event.eventSeq}).`);
        }
        const market = marketOf(event.marketId, event.eventSeq);
        put({
          id,
          userId: event.userId,
          clientOrderId: event.clientOrderId,
          marketId: market.marketId,
          symbol: market.symbol,
          side: event.side,
          type: event.orderType,
          timeInForce: event.timeInForce,
          postOnly: event.postOnly,
          selfTradePrevention: event.selfTradePrevention,
          price: event.priceTicks === null ? null : priceOf(market, event.priceTicks),
          stopPrice: event.stopPriceTicks === null ? null : priceOf(market, event.stopPriceTicks),
          quantity: event.quantityLots === null ? null : quantityOf(market, event.quantityLots),
          quoteQuantity:
            event.quoteBudgetUnits === null
              ? null
              : formatDecimal(event.quoteBudgetUnits, market.quote.decimals),
          filledQuantity: '0',
          filledNotional: '0',
          status: event.status,
          doneReason: null,
          rejectReason: null,
          createdAt: at,
          updatedAt: at,
          lastEventSeq: event.eventSeq,
        });
        break;
      }
      case 'OrderTriggered': {
        const order = target(event.orderId, event.eventSeq);
        if (!order) break;
        if (order.status !== 'PENDING_TRIGGER')
          throw new ProjectionInvariantError(`Order ${order.id} triggered while ${order.status}.`);
        put({ ...order, status: 'OPEN', updatedAt: at, lastEventSeq: event.eventSeq });
        break;
      }
      case 'OrderAmended': {
        const order = target(event.orderId, event.eventSeq);
        if (!order) break;
        const market = marketOf(event.marketId, event.eventSeq);
        put({
          ...order,
          price: priceOf(market, event.priceTicks),
          quantity: quantityOf(market, event.quantityLots),
          updatedAt: at,
          lastEventSeq: event.eventSeq,
        });
        break;
      }
      case 'OrderDone': {
        const order = target(event.orderId, event.eventSeq);
        if (!order) break;
        const market = marketOf(event.marketId, event.eventSeq);
        if (quantityOf(market, event.filledLots) !== order.filledQuantity) {
          throw new ProjectionInvariantError(
            `Order ${order.id} done with ${event.filledLots} lots filled, read model has ${order.filledQuantity}.`,
          );
        }
        put({
          ...order,
          // A buy sized by quote budget learns its quantity when it is done: what it bought.
          quantity: order.quantity ?? (order.filledQuantity === '0' ? null : order.filledQuantity),
          status: event.status,
          doneReason: event.reason,
          updatedAt: at,
          lastEventSeq: event.eventSeq,
        });
        break;
      }
      case 'Trade': {
        const market = marketOf(event.marketId, event.eventSeq);
        const price = priceOf(market, event.priceTicks);
        const quantity = quantityOf(market, event.quantityLots);
        const makerIsBuyer = event.takerSide === 'SELL';
        const sides = [
          {
            orderId: event.makerOrderId,
            liquidity: 'MAKER',
            feeUnits: event.makerFeeUnits,
            buyer: makerIsBuyer,
          },
          {
            orderId: event.takerOrderId,
            liquidity: 'TAKER',
            feeUnits: event.takerFeeUnits,
            buyer: !makerIsBuyer,
          },
        ] as const;
        for (const side of sides) {
          const order = target(side.orderId, event.eventSeq);
          if (!order) continue;
          // Fees are charged in the asset each side receives: the buyer's in base, the seller's in quote.
          const feeAsset = side.buyer ? market.base : market.quote;
          const fill: FillRecord = {
            tradeId: String(event.tradeId),
            orderId: order.id,
            price,
            quantity,
            fee: formatDecimal(side.feeUnits, feeAsset.decimals),
            feeCurrency: feeAsset.symbol,
            liquidity: side.liquidity,
            createdAt: at,
          };
          fills.push({ eventSeq: event.eventSeq, fill });
          fillNotifications.push(notifications.length);
          notifications.push({ kind: 'fill', userId: order.userId, fill });
          const filled = add(parseFixed(order.filledQuantity), parseFixed(quantity));
          if (order.quantity !== null && compare(filled, parseFixed(order.quantity)) > 0) {
            throw new ProjectionInvariantError(`Order ${order.id} overfilled by trade ${event.tradeId}.`);
          }
          put({
            ...order,
            filledQuantity: formatFixed(filled),
            filledNotional: formatFixed(
              add(parseFixed(order.filledNotional), multiply(parseFixed(price), parseFixed(quantity))),
            ),
            status:
              order.status === 'OPEN' || order.status === 'PARTIALLY_FILLED'
                ? 'PARTIALLY_FILLED'
                : order.status,
            updatedAt: at,
            lastEventSeq: event.eventSeq,
          });
        }
        break;
      }
      default:
        break;
    }
  }
  flush();
  return { changed, fills, notifications };
}
