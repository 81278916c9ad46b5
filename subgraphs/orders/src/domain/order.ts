/**
 * Orders and fills as the read model holds them, and the pure rules around them: who may see
 * which orders, derived quantities, and the shape checks the projection applies to core events.
 */
import type { Identity } from '@graphex/runtime';
import { divideTruncated, isPlainDecimal, parseFixed, formatFixed, subtract, compare } from './decimal.ts';

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

/** The order fields the matching core reports; amounts are canonical decimal strings. */
export interface OrderState {
  readonly id: string;
  readonly userId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly price: string | null;
  readonly stopPrice: string | null;
  readonly quantity: string;
  readonly status: OrderStatus;
  readonly rejectReason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One execution of one order, as the core reports it. */
export interface FillState {
  readonly tradeId: string;
  readonly orderId: string;
  readonly price: string;
  readonly quantity: string;
  readonly fee: string;
  readonly feeCurrency: string;
  readonly liquidity: Liquidity;
  readonly createdAt: Date;
}

/** An order as resolvers see it (the `Order` mapper): state plus what fills accumulated. */
export interface OrderRecord extends OrderState {
  readonly filledQuantity: string;
  /** Σ price × quantity over the fills, exact. */
  readonly filledNotional: string;
}

/** A fill as resolvers see it (the `Fill` mapper). */
export type FillRecord = FillState;

/** Federation references to entities other subgraphs own. */
export interface UserReference {
  readonly id: string;
}
export interface MarketReference {
  readonly symbol: string;
}

/** Decimal places of `averageFillPrice` when the quotient does not terminate. */
export const averagePriceScale = 18;

export function remainingQuantity(order: Pick<OrderRecord, 'quantity' | 'filledQuantity'>): string {
  return formatFixed(subtract(parseFixed(order.quantity), parseFixed(order.filledQuantity)));
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

const positive = (text: string): boolean =>
  isPlainDecimal(text) && compare(parseFixed(text), parseFixed('0')) > 0;
const nonNegative = (text: string): boolean => isPlainDecimal(text) && !text.startsWith('-');
const validDate = (value: Date): boolean => value instanceof Date && !Number.isNaN(value.getTime());
const boundedId = (value: string): boolean =>
  typeof value === 'string' && value.length > 0 && value.length <= 64;

/** Shape problems of an order state from the core (empty when valid). */
export function orderStateProblems(order: OrderState): string[] {
  const problems: string[] = [];
  if (!boundedId(order.id)) problems.push('id must be 1..64 characters');
  if (!boundedId(order.userId)) problems.push('userId must be 1..64 characters');
  if (order.clientOrderId !== null && !boundedId(order.clientOrderId))
    problems.push('clientOrderId must be 1..64 characters');
  if (!/^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$/.test(order.symbol)) problems.push('symbol must be BASE-QUOTE');
  if (!sides.includes(order.side)) problems.push('unknown side');
  if (!orderTypes.includes(order.type)) problems.push('unknown type');
  if (!timeInForces.includes(order.timeInForce)) problems.push('unknown timeInForce');
  if (!selfTradePreventions.includes(order.selfTradePrevention)) problems.push('unknown selfTradePrevention');
  if (!orderStatuses.includes(order.status)) problems.push('unknown status');
  if (typeof order.postOnly !== 'boolean') problems.push('postOnly must be a boolean');
  if (order.price !== null && !positive(order.price)) problems.push('price must be a positive decimal');
  if (order.stopPrice !== null && !positive(order.stopPrice))
    problems.push('stopPrice must be a positive decimal');
  if ((order.type === 'LIMIT' || order.type === 'STOP_LIMIT') && order.price === null)
    problems.push(`${order.type} order needs a price`);
  if ((order.type === 'STOP_LIMIT' || order.type === 'STOP_MARKET') && order.stopPrice === null)
    problems.push(`${order.type} order needs a stopPrice`);
  if (!positive(order.quantity)) problems.push('quantity must be a positive decimal');
  if (order.rejectReason !== null && order.rejectReason.length > 500)
    problems.push('rejectReason longer than 500 characters');
  if (!validDate(order.createdAt) || !validDate(order.updatedAt))
    problems.push('createdAt and updatedAt must be valid dates');
  return problems;
}

/** Shape problems of a fill from the core (empty when valid). */
export function fillStateProblems(fill: FillState): string[] {
  const problems: string[] = [];
  if (!boundedId(fill.tradeId)) problems.push('tradeId must be 1..64 characters');
  if (!boundedId(fill.orderId)) problems.push('orderId must be 1..64 characters');
  if (!positive(fill.price)) problems.push('price must be a positive decimal');
  if (!positive(fill.quantity)) problems.push('quantity must be a positive decimal');
  if (!nonNegative(fill.fee)) problems.push('fee must be a non-negative decimal');
  if (!/^[A-Z0-9]{2,12}$/.test(fill.feeCurrency)) problems.push('feeCurrency must be an asset symbol');
  if (!liquidities.includes(fill.liquidity)) problems.push('unknown liquidity');
  if (!validDate(fill.createdAt)) problems.push('createdAt must be a valid date');
  return problems;
}
