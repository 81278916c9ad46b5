/**
 * What the orders service contributes to the exchange's audit chain (DESIGN.md rule 8): a user
 * placing an order and a user cancelling one. Derived from the core's events inside the projection
 * batch that applies them, so the audit record commits with the read model (same transaction) and
 * costs the request path nothing; the events' own sequence makes the keys idempotent on replay.
 */
import type { AuditEvent, AuditOutboxRecord } from '@graphex/runtime';
import type { PublicCoreEvent } from '@graphex/schema';
import type { OrderRecord } from './order.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Source key of an order's placement: one per order, whichever batch (or replay) applies it. */
export const orderPlacedKey = (orderId: string): string => `order:${orderId}:ACCEPTED`;
/** Source key of an order leaving the book by a cancel. */
export const orderDoneKey = (orderId: string): string => `order:${orderId}:DONE`;

function details(order: OrderRecord, outcome: string): Record<string, string> {
  const entries: Record<string, string> = {
    orderId: order.id,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    outcome,
  };
  // Absent rather than "null": details are a flat string map.
  if (order.price !== null) entries['price'] = order.price;
  if (order.stopPrice !== null) entries['stopPrice'] = order.stopPrice;
  if (order.quantity !== null) entries['quantity'] = order.quantity;
  if (order.quoteQuantity !== null) entries['quoteQuantity'] = order.quoteQuantity;
  if (order.clientOrderId !== null) entries['clientOrderId'] = order.clientOrderId;
  return entries;
}

/**
 * Audit records for `events` (applied in this batch); `orders` holds every order they touch, as
 * folded. ORDER_PLACED for each OrderAccepted (outcome: OPEN or PENDING_TRIGGER; price and
 * quantity as ordered), ORDER_CANCELLED for each OrderDone with reason CANCELLED (a cancelOrder or
 * cancelAllOrders; outcome CANCELLED, with what had been filled). Fills, expiries and IOC/FOK
 * remainders are the core's doing, not a user's action, and are not audited here.
 */
export function orderAuditRecords(
  events: readonly PublicCoreEvent[],
  orders: ReadonlyMap<string, OrderRecord>,
): AuditOutboxRecord[] {
  const records: AuditOutboxRecord[] = [];
  const base = (event: PublicCoreEvent, userId: string) => ({
    occurredAt: new Date(event.timeMs),
    actor: userId,
    actorRole: 'USER',
    // The core's event, which names the command (and so the request) that caused it.
    requestId: `core:${event.eventSeq}`,
    // Users are identity's UUIDs. The projection cannot refuse an event the core already applied,
    // so a user id of another shape (only synthetic test streams have them) is kept as the actor
    // instead of failing the batch.
    targetUserId: uuidPattern.test(userId) ? userId : null,
  });
  for (const event of events) {
    if (event.type === 'OrderAccepted') {
      const id = String(event.orderId);
      const order = orders.get(id);
      if (!order) continue;
      const audit: AuditEvent = {
        ...base(event, event.userId),
        action: 'ORDER_PLACED',
        details: details(order, event.status),
      };
      records.push({ sourceKey: orderPlacedKey(id), event: audit });
    } else if (event.type === 'OrderDone' && event.reason === 'CANCELLED') {
      const id = String(event.orderId);
      const order = orders.get(id);
      if (!order) continue;
      const audit: AuditEvent = {
        ...base(event, event.userId),
        action: 'ORDER_CANCELLED',
        details: { ...details(order, 'CANCELLED'), filledQuantity: order.filledQuantity },
      };
      records.push({ sourceKey: orderDoneKey(id), event: audit });
    }
  }
  return records;
}
