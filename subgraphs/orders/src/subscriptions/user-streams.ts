/**
 * `myOrders` / `myFills`: the projection publishes what each committed batch changed to one bus
 * topic per user; every orders instance's subscribers listen on that topic, so with the Redis bus
 * a change applied by one instance reaches subscribers connected to any of them.
 *
 * Each subscription buffers at most `maxBufferedEvents` events; a subscriber that falls further
 * behind gets a LIMIT_EXCEEDED error and its stream ends (bounded memory, never a silent gap).
 */
import { apiError } from '@graphex/schema';
import type { Bus, Logger } from '@graphex/runtime';
import type { FillRecord, OrderRecord } from '../domain/order.ts';
import type { OrderNotification } from '../domain/order-fold.ts';

export const userTopic = (userId: string): string => `orders.user.${userId}`;

export const defaultMaxBufferedEvents = 1_000;

type WireOrder = Omit<OrderRecord, 'createdAt' | 'updatedAt' | 'knownFills'> & {
  createdAt: string;
  updatedAt: string;
};

type Wire =
  | { k: 'order'; u: string; o: WireOrder }
  | {
      k: 'fill';
      u: string;
      f: Omit<FillRecord, 'createdAt' | 'knownOrder'> & { createdAt: string };
      /** The fill's order as the command that filled it left it (absent: read it from the read model). */
      o?: WireOrder;
    };

function encodeOrder(record: OrderRecord): WireOrder {
  const { knownFills: _fills, ...order } = record;
  return { ...order, createdAt: order.createdAt.toISOString(), updatedAt: order.updatedAt.toISOString() };
}

function decodeOrder(wire: WireOrder): OrderRecord {
  return { ...wire, createdAt: new Date(wire.createdAt), updatedAt: new Date(wire.updatedAt) };
}

export function encodeNotification(notification: OrderNotification): string {
  if (notification.kind === 'fill') {
    const { knownOrder, ...fill } = notification.fill;
    return JSON.stringify({
      k: 'fill',
      u: notification.userId,
      f: { ...fill, createdAt: fill.createdAt.toISOString() },
      ...(knownOrder ? { o: encodeOrder(knownOrder) } : {}),
    } satisfies Wire);
  }
  return JSON.stringify({
    k: 'order',
    u: notification.userId,
    o: encodeOrder(notification.order),
  } satisfies Wire);
}

export function decodeNotification(text: string): OrderNotification {
  const wire = JSON.parse(text) as Wire;
  if (wire.k === 'fill') {
    const fill: FillRecord = { ...wire.f, createdAt: new Date(wire.f.createdAt) };
    // `Fill.order` then needs no read of the read model per delivered fill.
    return {
      kind: 'fill',
      userId: wire.u,
      fill: wire.o ? { ...fill, knownOrder: decodeOrder(wire.o) } : fill,
    };
  }
  return { kind: 'order', userId: wire.u, order: decodeOrder(wire.o) };
}

/** Publishes a committed batch's notifications, in order. A bus failure loses live events, never data. */
export async function publishNotifications(
  bus: Bus,
  notifications: readonly OrderNotification[],
  logger: Logger,
): Promise<void> {
  for (const notification of notifications) {
    try {
      await bus.publish(userTopic(notification.userId), encodeNotification(notification));
    } catch (error) {
      logger.error('publishing an order notification failed', { error, userId: notification.userId });
    }
  }
}

/** A bounded push iterator over one bus topic. */
class TopicIterator<T> implements AsyncIterableIterator<T> {
  readonly #buffer: T[] = [];
  readonly #max: number;
  #waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null;
  #failure: Error | null = null;
  #done = false;
  #unsubscribe: (() => Promise<void>) | null = null;

  constructor(max: number) {
    this.#max = max;
  }

  attach(unsubscribe: () => Promise<void>): void {
    if (this.#done) void unsubscribe();
    else this.#unsubscribe = unsubscribe;
  }

  push(value: T): void {
    if (this.#done || this.#failure) return;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve({ value, done: false });
      return;
    }
    if (this.#buffer.length >= this.#max) {
      this.#buffer.length = 0;
      this.#failure = apiError(
        'LIMIT_EXCEEDED',
        `The subscriber fell more than ${this.#max} events behind; resubscribe and reload its orders.`,
      );
      void this.#stop();
      return;
    }
    this.#buffer.push(value);
  }

  async #stop(): Promise<void> {
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    await unsubscribe?.();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#buffer.length > 0) return Promise.resolve({ value: this.#buffer.shift()!, done: false });
    if (this.#failure) {
      const failure = this.#failure;
      this.#done = true;
      this.#failure = null;
      return Promise.reject(failure);
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<T>> {
    this.#done = true;
    this.#buffer.length = 0;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve({ value: undefined, done: true });
    await this.#stop();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export class UserStreams {
  readonly #bus: Bus;
  readonly #maxBufferedEvents: number;

  constructor(bus: Bus, maxBufferedEvents = defaultMaxBufferedEvents) {
    this.#bus = bus;
    this.#maxBufferedEvents = maxBufferedEvents;
  }

  async #open<T>(
    userId: string,
    pick: (notification: OrderNotification) => T | null,
  ): Promise<AsyncIterableIterator<T>> {
    const iterator = new TopicIterator<T>(this.#maxBufferedEvents);
    const unsubscribe = await this.#bus.subscribe(userTopic(userId), (message) => {
      const notification = decodeNotification(message);
      // The topic is the user's; the check makes a mis-routed message harmless anyway.
      if (notification.userId !== userId) return;
      const value = pick(notification);
      if (value !== null) iterator.push(value);
    });
    iterator.attach(unsubscribe);
    return iterator;
  }

  /** Every change to `userId`'s orders from now on. */
  orders(userId: string): Promise<AsyncIterableIterator<OrderRecord>> {
    return this.#open(userId, (n) => (n.kind === 'order' ? n.order : null));
  }

  /** Every fill of `userId`'s orders from now on. */
  fills(userId: string): Promise<AsyncIterableIterator<FillRecord>> {
    return this.#open(userId, (n) => (n.kind === 'fill' ? n.fill : null));
  }
}
