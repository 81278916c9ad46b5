/**
 * The fast order book: per side, a Map price → level for O(1) lookup plus an array of levels
 * sorted worst → best, so the best level is the last element (matching pops from the end, and
 * most new levels appear near the top of the book, so splices move few elements). Each level is an
 * intrusive doubly-linked FIFO of orders: add, cancel and fill are O(1) once the level is known.
 * Emptied levels go to a small free list to keep the hot path allocation-light.
 */
import type { Order, SideIndex } from '../order.ts';
import type { LevelView, OrderBook } from './order-book.ts';

class Level {
  priceTicks = 0;
  quantityLots = 0;
  orderCount = 0;
  head: Order | null = null;
  tail: Order | null = null;
}

const LEVEL_POOL_MAX = 1024;

class BookSide {
  readonly isBid: boolean;
  readonly byPrice = new Map<number, Level>();
  /** Sorted worst → best: bids ascending, asks descending. */
  readonly sorted: Level[] = [];

  constructor(isBid: boolean) {
    this.isBid = isBid;
  }

  /** Index of the first level that is better than `priceTicks` (insertion point). */
  insertionIndex(priceTicks: number): number {
    const sorted = this.sorted;
    let lo = 0;
    let hi = sorted.length;
    // Fast path: new best level (common: quotes improve the top of the book).
    if (hi === 0) return 0;
    const top = sorted[hi - 1]!.priceTicks;
    if (this.isBid ? priceTicks > top : priceTicks < top) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = sorted[mid]!.priceTicks;
      if (this.isBid ? p < priceTicks : p > priceTicks) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class FastOrderBook implements OrderBook {
  readonly #sides: [BookSide, BookSide] = [new BookSide(true), new BookSide(false)];
  readonly #pool: Level[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  best(side: SideIndex): Order | null {
    const sorted = this.#sides[side].sorted;
    const n = sorted.length;
    return n === 0 ? null : sorted[n - 1]!.head;
  }

  next(order: Order): Order | null {
    if (order.next !== null) return order.next;
    const side = this.#sides[order.side];
    const index = side.insertionIndex(order.priceTicks);
    // insertionIndex returns the position of the level itself (levels equal are not "better").
    const below = index - 1;
    return below >= 0 ? side.sorted[below]!.head : null;
  }

  add(order: Order): void {
    const side = this.#sides[order.side];
    let level = side.byPrice.get(order.priceTicks);
    if (level === undefined) {
      level = this.#pool.pop() ?? new Level();
      level.priceTicks = order.priceTicks;
      side.byPrice.set(order.priceTicks, level);
      const index = side.insertionIndex(order.priceTicks);
      if (index === side.sorted.length) side.sorted.push(level);
      else side.sorted.splice(index, 0, level);
    }
    order.level = level;
    order.next = null;
    order.prev = level.tail;
    if (level.tail === null) level.head = order;
    else level.tail.next = order;
    level.tail = order;
    level.quantityLots += order.remainingLots;
    level.orderCount += 1;
    this.#size += 1;
  }

  remove(order: Order): void {
    const level = order.level as Level;
    if (order.prev === null) level.head = order.next;
    else order.prev.next = order.next;
    if (order.next === null) level.tail = order.prev;
    else order.next.prev = order.prev;
    order.prev = null;
    order.next = null;
    order.level = null;
    level.quantityLots -= order.remainingLots;
    level.orderCount -= 1;
    this.#size -= 1;
    if (level.orderCount === 0) {
      const side = this.#sides[order.side];
      side.byPrice.delete(level.priceTicks);
      const sorted = side.sorted;
      if (sorted[sorted.length - 1] === level) sorted.pop();
      else {
        // Levels strictly better than this one start right after it.
        const index = side.insertionIndex(level.priceTicks);
        if (sorted[index] !== level) throw new Error('fast book: level index out of sync');
        sorted.splice(index, 1);
      }
      level.head = null;
      level.tail = null;
      level.quantityLots = 0;
      if (this.#pool.length < LEVEL_POOL_MAX) this.#pool.push(level);
    }
  }

  reduce(order: Order, lots: number): void {
    (order.level as Level).quantityLots -= lots;
  }

  levelQuantity(side: SideIndex, priceTicks: number): number {
    return this.#sides[side].byPrice.get(priceTicks)?.quantityLots ?? 0;
  }

  levelOrderCount(side: SideIndex, priceTicks: number): number {
    return this.#sides[side].byPrice.get(priceTicks)?.orderCount ?? 0;
  }

  levels(side: SideIndex, maxLevels: number): LevelView[] {
    const sorted = this.#sides[side].sorted;
    const out: LevelView[] = [];
    for (let i = sorted.length - 1; i >= 0 && out.length < maxLevels; i -= 1) {
      const level = sorted[i]!;
      out.push({ priceTicks: level.priceTicks, quantityLots: level.quantityLots, orderCount: level.orderCount });
    }
    return out;
  }

  orders(side: SideIndex): Order[] {
    const sorted = this.#sides[side].sorted;
    const out: Order[] = [];
    for (let i = sorted.length - 1; i >= 0; i -= 1) {
      for (let o = sorted[i]!.head; o !== null; o = o.next) out.push(o);
    }
    return out;
  }
}
