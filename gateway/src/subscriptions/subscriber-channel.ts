/**
 * The bounded queue between an execution group and one subscriber, exposed to the subscriber as an
 * AsyncGenerator (graphql-ws calls `return()` on it when the client completes or disconnects).
 *
 * Policy when the subscriber falls behind (its queue holds `capacity` items and one more arrives):
 * the `onOverflow` hook may return a replacement queue (conflation, e.g. "the latest snapshot and
 * the deltas since"), which must itself fit in `capacity`; otherwise the queue is dropped and the
 * next `next()` rejects with the error `onOverflow` returned. Memory per subscriber is therefore at
 * most `capacity` results, whatever the producer does.
 */

export type OverflowDecision<T> =
  | { readonly kind: 'replace'; readonly items: readonly T[] }
  | { readonly kind: 'fail'; readonly error: Error };

export interface SubscriberChannelOptions<T> {
  readonly capacity: number;
  /** Called when an item arrives at a full queue; decides between conflation and dropping. */
  readonly onOverflow: (queued: readonly T[], incoming: T) => OverflowDecision<T>;
  /** Called exactly once when the channel ends for any reason (consumer left, failure, end). */
  readonly onClose: () => void;
  /** Direct delivery: a writer takes the items with `drain()` instead of `next()`. */
  readonly direct?: DirectDelivery<T> | undefined;
}

export interface DirectDelivery<T> {
  /** Items arrived; take them with `drain()` (soon, or the queue overflows). */
  readonly onReadable: (channel: SubscriberChannel<T>) => void;
  /** The stream is ending after its queued items: take them now (synchronously) with `drain()`. */
  readonly onEnding: (channel: SubscriberChannel<T>) => void;
}

type Waiter<T> = {
  readonly resolve: (result: IteratorResult<T, undefined>) => void;
  readonly reject: (error: unknown) => void;
};

type ChannelState = 'open' | 'ending' | 'failed' | 'closed';

export class SubscriberChannel<T> implements AsyncGenerator<T, undefined, undefined> {
  readonly #capacity: number;
  readonly #onOverflow: SubscriberChannelOptions<T>['onOverflow'];
  readonly #onClose: () => void;
  readonly #direct: DirectDelivery<T> | undefined;
  #queue: T[] = [];
  #waiter: Waiter<T> | undefined;
  #state: ChannelState = 'open';
  /** Error thrown by `next()` once the queue is drained ('ending') or immediately ('failed'). */
  #error: Error | undefined;
  #closeNotified = false;

  constructor(options: SubscriberChannelOptions<T>) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new Error(`SubscriberChannel capacity must be a positive integer, got ${options.capacity}.`);
    }
    this.#capacity = options.capacity;
    this.#onOverflow = options.onOverflow;
    this.#onClose = options.onClose;
    this.#direct = options.direct;
  }

  /** Items waiting for the consumer (never more than the capacity). */
  get queuedCount(): number {
    return this.#queue.length;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** Offers one item. Ignored once the channel is no longer open. */
  push(item: T): void {
    if (this.#state !== 'open') return;
    if (this.#direct) {
      if (this.#enqueue(item)) this.#direct.onReadable(this);
      return;
    }
    if (this.#waiter) {
      // The consumer is waiting, so the queue is empty: hand the item over directly.
      if (this.#queue.length !== 0) throw new Error('SubscriberChannel: a waiter with a non-empty queue.');
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.#enqueue(item);
  }

  /** Queues one item under the overflow policy; false when the channel failed instead. */
  #enqueue(item: T): boolean {
    if (this.#queue.length < this.#capacity) {
      this.#queue.push(item);
      return true;
    }
    const decision = this.#onOverflow(this.#queue, item);
    if (decision.kind === 'replace' && decision.items.length <= this.#capacity) {
      this.#queue = [...decision.items];
      return true;
    }
    this.fail(
      decision.kind === 'fail'
        ? decision.error
        : new Error(`Conflation returned ${decision.items.length} items for a queue of ${this.#capacity}.`),
    );
    return false;
  }

  /** Direct delivery: takes every queued item, oldest first. */
  drain(): T[] {
    if (this.#queue.length === 0) return [];
    const items = this.#queue;
    this.#queue = [];
    return items;
  }

  /** Ends the stream after the queued items; with an error, `next()` rejects with it after them. */
  end(error?: Error): void {
    if (this.#state !== 'open') return;
    this.#state = 'ending';
    this.#error = error;
    this.#notifyClose();
    this.#direct?.onEnding(this);
    if (this.#waiter) this.#settleWaiter();
  }

  /** Drops the queue; the next `next()` rejects with `error`. */
  fail(error: Error): void {
    if (this.#state !== 'open' && this.#state !== 'ending') return;
    this.#state = 'failed';
    this.#error = error;
    this.#queue = [];
    this.#notifyClose();
    if (this.#waiter) this.#settleWaiter();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#waiter) return Promise.reject(new Error('SubscriberChannel: concurrent next() calls.'));
    if (this.#direct) {
      // Items go to the writer; this settles when the stream ends.
      if (this.#state === 'open') {
        return new Promise((resolve, reject) => {
          this.#waiter = { resolve, reject };
        });
      }
      if (this.#state === 'ending') this.#direct.onEnding(this);
      if (this.#queue.length > 0)
        return Promise.reject(new Error('SubscriberChannel: the writer left items at the end.'));
      return this.#finish();
    }
    const item = this.#queue.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#state === 'open') {
      return new Promise((resolve, reject) => {
        this.#waiter = { resolve, reject };
      });
    }
    return this.#finish();
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T, undefined>> {
    this.#close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  #finish(): Promise<IteratorResult<T, undefined>> {
    const error = this.#error;
    this.#error = undefined;
    this.#state = 'closed';
    return error ? Promise.reject(error) : Promise.resolve({ value: undefined, done: true });
  }

  #settleWaiter(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    this.#finish().then(waiter.resolve, waiter.reject);
  }

  #close(): void {
    this.#queue = [];
    this.#error = undefined;
    this.#state = 'closed';
    this.#notifyClose();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
  }

  #notifyClose(): void {
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    this.#onClose();
  }
}
