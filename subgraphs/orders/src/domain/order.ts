/**
 * Orders and fills as the read model holds them, and the pure rules around them: who may see
 * which orders, derived quantities, and the shape checks the projection applies to core events.
 */
import type { Identity } from '@graphex/runtime';
import { divideTruncated, parseFixed, formatFixed, subtract } from './decimal.ts';

export const sides = ['BUY', 'SELL'] as const;
export const orderTypes = ['LIMIT', 'MARKET', 'STOP_LIMIT', 'STOP_MARKET'] as const;
export const timeInForces = ['GTC', 'IOC', 'FOK'] as const;
export const selfTradePreventions = ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'] as const;
export const orderStatuses = [
  'OPEN',
  'PARTIALLY_FILLED',
  'FILLED',
  'CANCELLED',
  'REJECTED',
  'EXPIRED',
  'PENDING_TRIGGER',
] as const;
export const liquidities = ['MAKER', 'TAKER'] as const;

export type Side = (typeof sides)[number];
export type OrderType = (typeof orderTypes)[number];
export type TimeInForce = (typeof timeInForces)[number];
export type SelfTradePrevention = (typeof selfTradePreventions)[number];
export type OrderStatus = (typeof orderStatuses)[number];
export type Liquidity = (typeof liquidities)[number];

/** An order as the read model holds it and resolvers see it (the `Order` mapper). */
export interface OrderRecord {
  /** The core's order id (the sequence number of the command that placed it), as a string. */
  readonly id: string;
  readonly userId: string;
  readonly clientOrderId: string | null;
  readonly marketId: number;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  /** Canonical decimal strings. */
  readonly price: string | null;
  readonly stopPrice: string | null;
  /** Ordered base quantity; null for a buy sized by quote budget until it is done. */
  readonly quantity: string | null;
  /** Quote budget of a market buy sized by quoteQuantity. */
  readonly quoteQuantity: string | null;
  readonly filledQuantity: string;
  /** Σ price × quantity over the fills, exact. */
  readonly filledNotional: string;
  readonly status: OrderStatus;
  /** Why the order left the book (the core's DoneReason), null while it is live. */
  readonly doneReason: string | null;
  readonly rejectReason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** eventSeq of the last core event applied to this order (per-row idempotence). */
  readonly lastEventSeq: number;
  /**
   * Every fill of the order when the answer was built from the core's verdict (a fresh
   * placement); absent when the fills must be read from the read model.
   */
  readonly knownFills?: readonly FillRecord[];
}

/** One execution of one order (the `Fill` mapper). */
export interface FillRecord {
  readonly tradeId: string;
  readonly orderId: string;
  readonly price: string;
  readonly quantity: string;
  readonly fee: string;
  readonly feeCurrency: string;
  readonly liquidity: Liquidity;
  readonly createdAt: Date;
  /** The fill's order when the answer was built from the core's verdict (it may not be in the read model yet). */
  readonly knownOrder?: OrderRecord;
}

/** Federation references to entities other subgraphs own. */
export interface UserReference {
  readonly id: string;
}
export interface MarketReference {
  readonly symbol: string;
}

/** Decimal places of `averageFillPrice` when the quotient does not terminate. */
export const averagePriceScale = 18;

/**
 * The ordered quantity as the API shows it: a buy sized by quote budget has no base quantity of
 * its own, so it reports what it bought.
 */
export function orderedQuantity(order: Pick<OrderRecord, 'quantity' | 'filledQuantity'>): string {
  return order.quantity ?? order.filledQuantity;
}

/** quantity − filledQuantity: what never executed, whatever the status. */
export function remainingQuantity(order: Pick<OrderRecord, 'quantity' | 'filledQuantity'>): string {
  return formatFixed(subtract(parseFixed(orderedQuantity(order)), parseFixed(order.filledQuantity)));
}

export function averageFillPrice(
  order: Pick<OrderRecord, 'filledQuantity' | 'filledNotional'>,
): string | null {
  const filled = parseFixed(order.filledQuantity);
  if (filled.units === 0n) return null;
  return formatFixed(divideTruncated(parseFixed(order.filledNotional), filled, averagePriceScale));
}

/** Roles that may read any user's orders (support desks, administrators). */
const orderReaderRoles = new Set(['SUPPORT', 'ADMIN']);

/**
 * May `identity` read the orders of `ownerId`? The owner (signed in or by API key) and the
 * SUPPORT/ADMIN roles may; anyone else may not.
 */
export function canReadOrdersOf(identity: Identity, ownerId: string): boolean {
  if (identity.kind === 'anonymous') return false;
  return identity.userId === ownerId || orderReaderRoles.has(identity.role);
}
