/**
 * The order book of one market, as the engine sees it. Two implementations sit behind this
 * interface (the exchange-core discipline): `FastOrderBook` (sorted level array + per-level
 * intrusive FIFO) and `ReferenceOrderBook` (one flat, fully sorted array per side — slow and
 * obviously right). The differential test feeds both the same streams and compares every event
 * and the state hash.
 *
 * Contract: the engine changes `order.remainingLots` itself and then tells the book by how much
 * (`reduce`), so a book's aggregates always equal the sum of its orders' remaining quantities.
 */
import type { Order, SideIndex } from '../order.ts';

export interface LevelView {
  readonly priceTicks: number;
  readonly quantityLots: number;
  readonly orderCount: number;
}

export interface OrderBook {
  /** Best order resting on `side` (highest bid / lowest ask, earliest first), or null. */
  best(side: SideIndex): Order | null;
  /** The order after `order` in price-time priority on its side, or null. */
  next(order: Order): Order | null;
  /**
   * Adds at the tail of its price level (the engine has set `queueSeq`); returns the level after
   * the change (the fast book's live level object: read it at once).
   */
  add(order: Order): LevelView;
  /** Removes a resting order; returns its level after the change, or null when it is now empty. */
  remove(order: Order): LevelView | null;
  /** The engine lowered `order.remainingLots` by `lots` (priority kept). */
  reduce(order: Order, lots: number): void;
  /** Total remaining lots at one price (0 when the level does not exist). */
  levelQuantity(side: SideIndex, priceTicks: number): number;
  /** Number of orders at one price. */
  levelOrderCount(side: SideIndex, priceTicks: number): number;
  /**
   * The level at one price, or null when it has no orders. The fast book returns its live level
   * object (read it at once; it changes with the book).
   */
  levelAt(side: SideIndex, priceTicks: number): LevelView | null;
  /** Up to `maxLevels` levels from the best. */
  levels(side: SideIndex, maxLevels: number): LevelView[];
  /** Every resting order of a side in priority order. */
  orders(side: SideIndex): Order[];
  /** Number of resting orders. */
  readonly size: number;
}
