/**
 * An aggregated order book (price levels, not orders) as the core's BookLevelChanged events
 * describe it: per side a sorted array of prices plus a map price → level, and the market's
 * contiguous `bookSeq`. Pure and synchronous; the projection keeps one per market in memory and
 * the subscription feeds one mirror per subscribed market.
 */
import type { Side } from '@graphex/schema';

export interface BookLevel {
  readonly priceTicks: number;
  readonly quantityLots: number;
  readonly orderCount: number;
}

/** One book event: the new state of one level (`quantityLots` 0 = the level is gone). */
export interface BookChange {
  readonly bookSeq: number;
  readonly side: Side;
  readonly priceTicks: number;
  readonly quantityLots: number;
  readonly orderCount: number;
}

/** Thrown when book events are not contiguous or contradict the book: the feed must resync. */
export class BookSequenceError extends Error {
  override name = 'BookSequenceError';
}

class BookSide {
  /** Prices ascending. Bids are read from the end (best = highest), asks from the start. */
  readonly #prices: number[] = [];
  readonly #levels = new Map<number, BookLevel>();
  readonly #descending: boolean;

  constructor(descending: boolean) {
    this.#descending = descending;
  }

  get size(): number {
    return this.#prices.length;
  }

  get(priceTicks: number): BookLevel | undefined {
    return this.#levels.get(priceTicks);
  }

  /** Index of the first price >= priceTicks. */
  #lowerBound(priceTicks: number): number {
    let low = 0;
    let high = this.#prices.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#prices[mid]! < priceTicks) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  set(level: BookLevel): void {
    const had = this.#levels.has(level.priceTicks);
    if (level.quantityLots === 0) {
      if (!had) return;
      this.#levels.delete(level.priceTicks);
      this.#prices.splice(this.#lowerBound(level.priceTicks), 1);
      return;
    }
    this.#levels.set(level.priceTicks, level);
    if (!had) this.#prices.splice(this.#lowerBound(level.priceTicks), 0, level.priceTicks);
  }

  /** The best `depth` levels, best first. */
  top(depth: number): BookLevel[] {
    const count = Math.min(depth, this.#prices.length);
    const levels: BookLevel[] = new Array<BookLevel>(count);
    const last = this.#prices.length - 1;
    for (let i = 0; i < count; i++) {
      levels[i] = this.#levels.get(this.#prices[this.#descending ? last - i : i]!)!;
    }
    return levels;
  }

  /** True when `a` is a better price than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.#descending ? a > b : a < b;
  }
}

export interface BookSnapshot {
  readonly bookSeq: number;
  /** Best first (highest price first). */
  readonly bids: readonly BookLevel[];
  /** Best first (lowest price first). */
  readonly asks: readonly BookLevel[];
}

export class OrderBookState {
  readonly #bids = new BookSide(true);
  readonly #asks = new BookSide(false);
  #bookSeq: number;

  constructor(bookSeq = 0) {
    this.#bookSeq = bookSeq;
  }

  /** A book holding `snapshot`'s levels at its sequence (a full-depth snapshot). */
  static from(snapshot: BookSnapshot): OrderBookState {
    const book = new OrderBookState(snapshot.bookSeq);
    for (const level of snapshot.bids) book.#bids.set(level);
    for (const level of snapshot.asks) book.#asks.set(level);
    return book;
  }

  get bookSeq(): number {
    return this.#bookSeq;
  }

  side(side: Side): BookSide {
    return side === 'BUY' ? this.#bids : this.#asks;
  }

  /** Number of levels on each side. */
  get levelCounts(): { readonly bids: number; readonly asks: number } {
    return { bids: this.#bids.size, asks: this.#asks.size };
  }

  /**
   * Applies the next book event. It must carry exactly `bookSeq + 1`; anything else means events
   * were lost or reordered, and the book would silently diverge.
   */
  apply(change: BookChange): void {
    if (change.bookSeq !== this.#bookSeq + 1)
      throw new BookSequenceError(`Book event ${change.bookSeq} does not follow ${this.#bookSeq}`);
    if (
      !Number.isSafeInteger(change.priceTicks) ||
      change.priceTicks <= 0 ||
      !Number.isSafeInteger(change.quantityLots) ||
      change.quantityLots < 0 ||
      !Number.isSafeInteger(change.orderCount) ||
      change.orderCount < 0 ||
      (change.quantityLots === 0) !== (change.orderCount === 0)
    )
      throw new BookSequenceError(`Book event ${change.bookSeq} has an invalid level`);
    this.side(change.side).set({
      priceTicks: change.priceTicks,
      quantityLots: change.quantityLots,
      orderCount: change.orderCount,
    });
    this.#bookSeq = change.bookSeq;
  }

  best(side: Side): BookLevel | undefined {
    return this.side(side).top(1)[0];
  }

  /** The best `depth` levels of each side at the current sequence. */
  snapshot(depth = Number.MAX_SAFE_INTEGER): BookSnapshot {
    return { bookSeq: this.#bookSeq, bids: this.#bids.top(depth), asks: this.#asks.top(depth) };
  }
}
