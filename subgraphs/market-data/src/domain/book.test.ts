import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OrderBookState, BookSequenceError, type BookChange } from './book.ts';
import { BookWindow, applyDelta } from './book-window.ts';

const change = (
  bookSeq: number,
  side: 'BUY' | 'SELL',
  priceTicks: number,
  quantityLots: number,
): BookChange => ({
  bookSeq,
  side,
  priceTicks,
  quantityLots,
  orderCount: quantityLots === 0 ? 0 : 1,
});

describe('order book state', () => {
  it('keeps bids highest first and asks lowest first, removing levels at quantity 0', () => {
    const book = new OrderBookState();
    book.apply(change(1, 'BUY', 100, 5));
    book.apply(change(2, 'BUY', 102, 1));
    book.apply(change(3, 'SELL', 110, 2));
    book.apply(change(4, 'SELL', 105, 3));
    book.apply(change(5, 'BUY', 101, 4));
    book.apply(change(6, 'BUY', 102, 0));
    const snapshot = book.snapshot();
    expect(snapshot.bookSeq).toBe(6);
    expect(snapshot.bids.map((l) => [l.priceTicks, l.quantityLots])).toEqual([
      [101, 4],
      [100, 5],
    ]);
    expect(snapshot.asks.map((l) => [l.priceTicks, l.quantityLots])).toEqual([
      [105, 3],
      [110, 2],
    ]);
    expect(book.snapshot(1).asks).toHaveLength(1);
    expect(book.best('BUY')?.priceTicks).toBe(101);
  });

  it('refuses a sequence gap, a repeat and invalid levels without changing', () => {
    const book = new OrderBookState();
    book.apply(change(1, 'BUY', 100, 5));
    expect(() => book.apply(change(3, 'BUY', 100, 1))).toThrow(BookSequenceError);
    expect(() => book.apply(change(1, 'BUY', 100, 1))).toThrow(BookSequenceError);
    expect(() => book.apply(change(2, 'BUY', -1, 1))).toThrow(BookSequenceError);
    expect(() => book.apply({ ...change(2, 'BUY', 100, 1), orderCount: 0 })).toThrow(BookSequenceError);
    expect(book.snapshot()).toEqual({
      bookSeq: 1,
      bids: [{ priceTicks: 100, quantityLots: 5, orderCount: 1 }],
      asks: [],
    });
  });

  it('restores from a snapshot', () => {
    const book = new OrderBookState();
    book.apply(change(1, 'SELL', 7, 1));
    book.apply(change(2, 'BUY', 5, 2));
    expect(OrderBookState.from(book.snapshot()).snapshot()).toEqual(book.snapshot());
  });
});

/** Random level changes on a small price grid so levels are hit, removed and re-added often. */
const changesArbitrary = fc.array(
  fc.record({
    side: fc.constantFrom<'BUY' | 'SELL'>('BUY', 'SELL'),
    priceTicks: fc.integer({ min: 1, max: 30 }),
    quantityLots: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000 })),
  }),
  { maxLength: 300 },
);

describe('book window (depth-limited DELTAs)', () => {
  it('SNAPSHOT + every DELTA equals the top-depth book at every sequence (property)', () => {
    fc.assert(
      fc.property(
        changesArbitrary,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 300 }),
        (raw, depth, joinAt) => {
          const book = new OrderBookState();
          const window = new BookWindow(depth);
          let client: {
            bids: ReturnType<BookWindow['view']>['bids'];
            asks: ReturnType<BookWindow['view']>['asks'];
          } | null = null;
          raw.forEach((c, i) => {
            if (i === Math.min(joinAt, raw.length - 1)) {
              window.reset(book);
              const view = window.view();
              client = { bids: [...view.bids], asks: [...view.asks] };
            }
            const next = { ...c, bookSeq: book.bookSeq + 1, orderCount: c.quantityLots === 0 ? 0 : 1 };
            book.apply(next);
            if (client) {
              const delta = window.advance(book, next);
              client = {
                bids: applyDelta(client.bids, delta.bids, 'BUY'),
                asks: applyDelta(client.asks, delta.asks, 'SELL'),
              };
              const top = book.snapshot(depth);
              expect(client.bids.map((l) => [l.priceTicks, l.quantityLots])).toEqual(
                top.bids.map((l) => [l.priceTicks, l.quantityLots]),
              );
              expect(client.asks.map((l) => [l.priceTicks, l.quantityLots])).toEqual(
                top.asks.map((l) => [l.priceTicks, l.quantityLots]),
              );
              expect(window.view().bookSeq).toBe(book.bookSeq);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sends only what changed inside the window, and an empty DELTA for a change behind it', () => {
    const book = new OrderBookState();
    const window = new BookWindow(2);
    window.reset(book);
    const step = (c: BookChange) => {
      book.apply(c);
      return window.advance(book, c);
    };
    expect(step(change(1, 'SELL', 10, 1)).asks).toEqual([{ priceTicks: 10, quantityLots: 1, orderCount: 1 }]);
    step(change(2, 'SELL', 11, 1));
    // Behind a full window: empty DELTA.
    expect(step(change(3, 'SELL', 12, 5))).toEqual({ bids: [], asks: [] });
    // A better level enters; the worst (11) leaves with quantity 0.
    expect(step(change(4, 'SELL', 9, 2)).asks).toEqual([
      { priceTicks: 9, quantityLots: 2, orderCount: 1 },
      { priceTicks: 11, quantityLots: 0, orderCount: 0 },
    ]);
    // Removing 9 pulls 11 back in.
    expect(step(change(5, 'SELL', 9, 0)).asks).toEqual([
      { priceTicks: 11, quantityLots: 1, orderCount: 1 },
      { priceTicks: 9, quantityLots: 0, orderCount: 0 },
    ]);
    expect(() => window.advance(book, change(7, 'BUY', 1, 1))).toThrow();
  });
});
