/**
 * The engine's mutable order record. One class (one hidden class in V8) for every order so the hot
 * path stays monomorphic; the intrusive `prev`/`next`/`level` links belong to the fast book.
 */
import type { OrderStatus, OrderType, SelfTradePrevention, TimeInForce } from '@graphex/schema';

/** Internal side index: 0 = BUY (bids), 1 = SELL (asks). */
export type SideIndex = 0 | 1;
export const BUY: SideIndex = 0;
export const SELL: SideIndex = 1;

export class Order {
  readonly id: number;
  readonly userId: number;
  readonly marketId: number;
  readonly side: SideIndex;
  orderType: OrderType;
  readonly timeInForce: TimeInForce;
  /** Limit price; 0 for market orders. */
  priceTicks: number;
  /** 0 when not a stop order (or once triggered, kept for the record). */
  readonly stopPriceTicks: number;
  /** Total quantity; 0 for a market buy by quote budget. */
  quantityLots: number;
  filledLots = 0;
  remainingLots: number;
  /** Market buy budget (quote units), null otherwise. */
  readonly quoteBudgetUnits: bigint | null;
  /** What this order still has locked: quote units for buys, base units for sells. */
  holdUnits = 0n;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientOrderId: string | null;
  status: OrderStatus = 'OPEN';
  /** Time priority: a counter bumped every time the order (re)joins a price level. */
  queueSeq = 0;
  // Fast-book intrusive links.
  prev: Order | null = null;
  next: Order | null = null;
  level: unknown = null;
  /** The owner's account record (UserState), so settlement needs no map lookup. */
  owner: unknown = null;
  // The owner's open orders in placement order (intrusive list, O(1) link/unlink).
  userPrev: Order | null = null;
  userNext: Order | null = null;

  constructor(
    id: number,
    userId: number,
    marketId: number,
    side: SideIndex,
    orderType: OrderType,
    timeInForce: TimeInForce,
    priceTicks: number,
    stopPriceTicks: number,
    quantityLots: number,
    quoteBudgetUnits: bigint | null,
    postOnly: boolean,
    selfTradePrevention: SelfTradePrevention,
    clientOrderId: string | null,
  ) {
    this.id = id;
    this.userId = userId;
    this.marketId = marketId;
    this.side = side;
    this.orderType = orderType;
    this.timeInForce = timeInForce;
    this.priceTicks = priceTicks;
    this.stopPriceTicks = stopPriceTicks;
    this.quantityLots = quantityLots;
    this.remainingLots = quantityLots;
    this.quoteBudgetUnits = quoteBudgetUnits;
    this.postOnly = postOnly;
    this.selfTradePrevention = selfTradePrevention;
    this.clientOrderId = clientOrderId;
  }
}
