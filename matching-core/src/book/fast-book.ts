/**
 * The fast order book: per side, a Map price → level for O(1) lookup plus an array of levels
 * sorted worst → best, so the best level is the last element. Each level is an intrusive
 * doubly-linked FIFO of orders: add, cancel and fill are O(1) once the level is known.
 *
 * Empty levels are not spliced out at once (that memmove dominated the amend-heavy mix): they stay
 * in place and are reused when an order arrives at that price again. Empty levels at the top are
 * popped eagerly (so `best` is O(1) amortised), and the array is compacted when empty levels
 * outnumber live ones — memory stays bounded by 2 × live levels + a constant.
 */
import type { Order, SideIndex } from '../order.ts';
import type { LevelView, OrderBook } from './order-book.ts';

class Level {
  priceTicks: number;
  quantityLots = 0;
  orderCount = 0;
  head: Order | null = null;
  tail: Order | null = null;
  constructor(priceTicks: number) {
    this.priceTicks = priceTicks;
  }
}

const COMPACT_SLACK = 64;

class BookSide {
  readonly isBid: boolean;
  readonly byPrice = new Map<number, Level>();
  /** Sorted worst → best: bids ascending, asks descending. May contain empty levels. */
  sorted: Level[] = [];
  liveLevels = 0;

  constructor(isBid: boolean) {
    this.isBid = isBid;
  }

  /** Index of the level at `priceTicks`, or where it would be inserted. */
  indexOf(priceTicks: number): number {
    const sorted = this.sorted;
    let lo = 0;
    let hi = sorted.length;
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

  popEmptyTop(): void {
    const sorted = this.sorted;
    while (sorted.length > 0 && sorted[sorted.length - 1]!.orderCount === 0) {
      this.byPrice.delete(sorted.pop()!.priceTicks);
    }
  }

  compactIfSparse(): void {
    if (this.sorted.length <= 2 * this.liveLevels + COMPACT_SLACK) return;
    const live: Level[] = [];
    for (const level of this.sorted) {
      if (level.orderCount > 0) live.push(level);
      else this.byPrice.delete(level.priceTicks);
    }
    this.sorted = live;
  }
}

export class FastOrderBook implements OrderBook {
  readonly #sides: [BookSide, BookSide] = [new BookSide(true), new BookSide(false)];
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
    for (let i = side.indexOf(order.priceTicks) - 1; i >= 0; i -= 1) {
      const head = side.sorted[i]!.head;
      if (head !== null) return head;
    }
    return null;
  }

  add(order: Order): LevelView {
    const side = this.#sides[order.side];
    let level = side.byPrice.get(order.priceTicks);
    if (level === undefined) {
      level = new Level(order.priceTicks);
      side.byPrice.set(order.priceTicks, level);
      const index = side.indexOf(order.priceTicks);
      if (index === side.sorted.length) side.sorted.push(level);
      else side.sorted.splice(index, 0, level);
    }
    if (level.orderCount === 0) side.liveLevels += 1;
    order.level = level;
    order.next = null;
    order.prev = level.tail;
    if (level.tail === null) level.head = order;
    else level.tail.next = order;
    level.tail = order;
    level.quantityLots += order.remainingLots;
    level.orderCount += 1;
    this.#size += 1;
    return level;
  }

  remove(order: Order): LevelView | null {
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
      side.liveLevels -= 1;
      side.popEmptyTop();
      side.compactIfSparse();
      return null;
    }
    return level;
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

  levelAt(side: SideIndex, priceTicks: number): LevelView | null {
    const level = this.#sides[side].byPrice.get(priceTicks);
    return level === undefined || level.orderCount === 0 ? null : level;
  }

  levels(side: SideIndex, maxLevels: number): LevelView[] {
    const sorted = this.#sides[side].sorted;
    const out: LevelView[] = [];
    for (let i = sorted.length - 1; i >= 0 && out.length < maxLevels; i -= 1) {
      const level = sorted[i]!;
      if (level.orderCount > 0)
        out.push({
          priceTicks: level.priceTicks,
          quantityLots: level.quantityLots,
          orderCount: level.orderCount,
        });
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
