/**
 * What a subscriber with a depth limit sees of a book: the best `depth` levels per side. After
 * every book event the window is diffed against the book, so a DELTA carries exactly the levels
 * that changed INSIDE the window — including a level that entered it (a removal deeper in the
 * window pulls the next level in) and one that left it (quantity "0"). Applying every DELTA to the
 * SNAPSHOT therefore yields the book's top `depth` levels at every sequence, and an event outside
 * the window is an empty DELTA (the sequence still advances by one).
 */
import type { Side } from '@graphex/schema';
import type { BookChange, BookLevel, BookSnapshot, OrderBookState } from './book.ts';

export interface WindowDelta {
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
}

const none: readonly BookLevel[] = Object.freeze([]);

function diff(before: readonly BookLevel[], after: readonly BookLevel[]): BookLevel[] {
  const changed: BookLevel[] = [];
  const beforeByPrice = new Map(before.map((level) => [level.priceTicks, level]));
  const afterPrices = new Set<number>();
  for (const level of after) {
    afterPrices.add(level.priceTicks);
    if (beforeByPrice.get(level.priceTicks)?.quantityLots !== level.quantityLots) changed.push(level);
  }
  for (const level of before) {
    if (!afterPrices.has(level.priceTicks))
      changed.push({ priceTicks: level.priceTicks, quantityLots: 0, orderCount: 0 });
  }
  return changed;
}

export class BookWindow {
  readonly depth: number;
  #bids: readonly BookLevel[] = none;
  #asks: readonly BookLevel[] = none;
  #bookSeq = 0;

  constructor(depth: number) {
    if (!Number.isSafeInteger(depth) || depth < 1) throw new RangeError('depth must be a positive integer');
    this.depth = depth;
  }

  /** Re-reads the window from `book` (after a resync). */
  reset(book: OrderBookState): void {
    const snapshot = book.snapshot(this.depth);
    this.#bids = snapshot.bids;
    this.#asks = snapshot.asks;
    this.#bookSeq = snapshot.bookSeq;
  }

  /** The window now: what a SNAPSHOT carries. */
  view(): BookSnapshot {
    return { bookSeq: this.#bookSeq, bids: this.#bids, asks: this.#asks };
  }

  /** Call right after `book.apply(change)`: the window's changed levels for that event. */
  advance(book: OrderBookState, change: BookChange): WindowDelta {
    if (change.bookSeq !== this.#bookSeq + 1 || book.bookSeq !== change.bookSeq)
      throw new Error(
        `Window at ${this.#bookSeq} cannot advance to ${change.bookSeq} (book at ${book.bookSeq})`,
      );
    this.#bookSeq = change.bookSeq;
    const before = change.side === 'BUY' ? this.#bids : this.#asks;
    const side = book.side(change.side);
    // A full window's worst level bounds it: a change strictly behind it cannot alter the top `depth`.
    const worst = before[this.depth - 1];
    if (worst !== undefined && side.better(worst.priceTicks, change.priceTicks))
      return { bids: none, asks: none };
    const after = side.top(this.depth);
    const changed = diff(before, after);
    this.#set(change.side, after);
    return change.side === 'BUY' ? { bids: changed, asks: none } : { bids: none, asks: changed };
  }

  #set(side: Side, levels: readonly BookLevel[]): void {
    if (side === 'BUY') this.#bids = levels;
    else this.#asks = levels;
  }
}

/** Applies a window DELTA to levels held best first (a client's view); returns the new levels. */
export function applyDelta(
  levels: readonly BookLevel[],
  changed: readonly BookLevel[],
  side: Side,
): BookLevel[] {
  const byPrice = new Map(levels.map((level) => [level.priceTicks, level]));
  for (const level of changed) {
    if (level.quantityLots === 0) byPrice.delete(level.priceTicks);
    else byPrice.set(level.priceTicks, level);
  }
  return [...byPrice.values()].sort((a, b) =>
    side === 'BUY' ? b.priceTicks - a.priceTicks : a.priceTicks - b.priceTicks,
  );
}
