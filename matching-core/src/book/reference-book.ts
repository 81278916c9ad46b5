/**
 * The reference order book: deliberately simple and slow. Each side is one array of orders kept in
 * full price-time priority order by linear insertion; aggregates are recomputed by scanning.
 * It shares no code with the fast book, so the differential test compares two independent
 * implementations of the same priority rules.
 */
import type { Order, SideIndex } from '../order.ts';
import type { LevelView, OrderBook } from './order-book.ts';

function before(a: Order, b: Order): boolean {
  if (a.priceTicks !== b.priceTicks)
    return a.side === 0 ? a.priceTicks > b.priceTicks : a.priceTicks < b.priceTicks;
  return a.queueSeq < b.queueSeq;
}

export class ReferenceOrderBook implements OrderBook {
  readonly #sides: [Order[], Order[]] = [[], []];

  get size(): number {
    return this.#sides[0].length + this.#sides[1].length;
  }

  best(side: SideIndex): Order | null {
    return this.#sides[side][0] ?? null;
  }

  next(order: Order): Order | null {
    const list = this.#sides[order.side];
    const index = list.indexOf(order);
    if (index < 0) throw new Error('reference book: order not resting');
    return list[index + 1] ?? null;
  }

  add(order: Order): LevelView {
    const list = this.#sides[order.side];
    let index = 0;
    while (index < list.length && before(list[index]!, order)) index += 1;
    list.splice(index, 0, order);
    return this.levelAt(order.side, order.priceTicks)!;
  }

  remove(order: Order): LevelView | null {
    const list = this.#sides[order.side];
    const index = list.indexOf(order);
    if (index < 0) throw new Error('reference book: order not resting');
    list.splice(index, 1);
    return this.levelAt(order.side, order.priceTicks);
  }

  reduce(_order: Order, _lots: number): void {
    // Aggregates are recomputed from the orders on demand.
  }

  levelQuantity(side: SideIndex, priceTicks: number): number {
    let total = 0;
    for (const order of this.#sides[side]) if (order.priceTicks === priceTicks) total += order.remainingLots;
    return total;
  }

  levelOrderCount(side: SideIndex, priceTicks: number): number {
    let count = 0;
    for (const order of this.#sides[side]) if (order.priceTicks === priceTicks) count += 1;
    return count;
  }

  levelAt(side: SideIndex, priceTicks: number): LevelView | null {
    const count = this.levelOrderCount(side, priceTicks);
    return count === 0
      ? null
      : { priceTicks, quantityLots: this.levelQuantity(side, priceTicks), orderCount: count };
  }

  levels(side: SideIndex, maxLevels: number): LevelView[] {
    const out: LevelView[] = [];
    for (const order of this.#sides[side]) {
      const last = out[out.length - 1];
      if (last !== undefined && last.priceTicks === order.priceTicks) {
        out[out.length - 1] = {
          priceTicks: last.priceTicks,
          quantityLots: last.quantityLots + order.remainingLots,
          orderCount: last.orderCount + 1,
        };
      } else {
        if (out.length === maxLevels) break;
        out.push({ priceTicks: order.priceTicks, quantityLots: order.remainingLots, orderCount: 1 });
      }
    }
    return out;
  }

  orders(side: SideIndex): Order[] {
    return [...this.#sides[side]];
  }
}
