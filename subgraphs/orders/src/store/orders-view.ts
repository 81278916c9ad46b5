import type { Queryable } from '@graphex/runtime';
import type { PageRequest } from '../domain/cursor.ts';
import type { FillRecord, OrderRecord } from '../domain/order.ts';
import { BatchLoader } from './batch-loader.ts';
import { fillsByOrderIds, listUserOrders, ordersByIds, type OrderFilter, type OrderPage } from './orders.ts';

/** The read model as one request sees it: batched, cached loads (create one per request). */
export class OrdersView {
  readonly #db: Queryable;
  #orders!: BatchLoader<string, OrderRecord>;
  #fills!: BatchLoader<string, FillRecord[]>;

  constructor(db: Queryable) {
    this.#db = db;
    this.reset();
  }

  /**
   * Forgets what this view loaded. A subscription keeps one context for its whole life, so it
   * resets before resolving each event (otherwise the second event would see the first's rows).
   */
  reset(): void {
    const db = this.#db;
    this.#orders = new BatchLoader(
      async (ids) => new Map((await ordersByIds(db, ids)).map((order) => [order.id, order])),
    );
    this.#fills = new BatchLoader(async (orderIds) => {
      const byOrder = new Map<string, FillRecord[]>(orderIds.map((id) => [id, []]));
      for (const fill of await fillsByOrderIds(db, orderIds)) byOrder.get(fill.orderId)?.push(fill);
      return byOrder;
    });
  }

  async order(id: string): Promise<OrderRecord | null> {
    return (await this.#orders.load(id)) ?? null;
  }

  async fills(orderId: string): Promise<FillRecord[]> {
    return (await this.#fills.load(orderId)) ?? [];
  }

  userOrders(filter: OrderFilter, page: PageRequest): Promise<OrderPage> {
    return listUserOrders(this.#db, filter, page);
  }
}
