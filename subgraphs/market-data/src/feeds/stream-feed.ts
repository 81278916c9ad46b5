/**
 * Trade and ticker subscriptions: one bus subscription per topic per instance, fanned out to
 * local subscribers, each with a bounded queue. Overflow policy per feed: `latest` keeps only the
 * newest value (tickers: each one supersedes the last), `fail` ends the slow subscriber with
 * LIMIT_EXCEEDED / SLOW_CONSUMER (trades cannot be conflated without losing some).
 */
import type { Bus, Logger } from '@graphex/runtime';
import { apiError } from '@graphex/schema';

export type OverflowPolicy = 'latest' | 'fail';

class StreamSubscriber<T> implements AsyncIterableIterator<T> {
  readonly #maxQueued: number;
  readonly #policy: OverflowPolicy;
  readonly #onClose: () => void;
  #queue: T[] = [];
  #failure: Error | undefined;
  #done = false;
  #wake: (() => void) | undefined;

  constructor(maxQueued: number, policy: OverflowPolicy, onClose: () => void) {
    this.#maxQueued = maxQueued;
    this.#policy = policy;
    this.#onClose = onClose;
  }

  push(value: T): void {
    if (this.#done || this.#failure) return;
    if (this.#queue.length >= this.#maxQueued) {
      if (this.#policy === 'latest') this.#queue = [value];
      else {
        this.#queue = [];
        this.#failure = apiError('LIMIT_EXCEEDED', 'The subscriber fell behind the stream.', {
          reason: 'SLOW_CONSUMER',
        });
      }
    } else this.#queue.push(value);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.#done) return { value: undefined, done: true };
      if (this.#queue.length > 0) return { value: this.#queue.shift()!, done: false };
      if (this.#failure) {
        const failure = this.#failure;
        await this.return();
        throw failure;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.#done) {
      this.#done = true;
      this.#queue = [];
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
      this.#onClose();
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

interface Topic<T> {
  readonly subscribers: Set<StreamSubscriber<T>>;
  readonly ready: Promise<() => Promise<void>>;
}

export interface StreamFeedOptions<T> {
  readonly bus: Bus;
  readonly logger: Logger;
  /** Values of one bus message (null when malformed). */
  readonly decode: (message: string) => readonly T[] | null;
  readonly maxQueuedPerSubscriber: number;
  readonly overflow: OverflowPolicy;
}

export class StreamFeedHub<T> {
  readonly #options: StreamFeedOptions<T>;
  readonly #topics = new Map<string, Topic<T>>();

  constructor(options: StreamFeedOptions<T>) {
    this.#options = options;
  }

  /** Subscribes to `topic`; `initial` values are queued first (e.g. the current ticker). */
  async subscribe(
    topic: string,
    initial: () => Promise<readonly T[]> = async () => [],
  ): Promise<AsyncIterableIterator<T>> {
    let entry = this.#topics.get(topic);
    if (!entry) {
      const subscribers = new Set<StreamSubscriber<T>>();
      const ready = this.#options.bus.subscribe(topic, (message) => {
        const values = this.#options.decode(message);
        if (!values) {
          this.#options.logger.warn('malformed stream message ignored', { topic });
          return;
        }
        for (const subscriber of subscribers) for (const value of values) subscriber.push(value);
      });
      entry = { subscribers, ready };
      this.#topics.set(topic, entry);
      ready.catch(() => this.#topics.delete(topic));
    }
    const current = entry;
    const subscriber = new StreamSubscriber<T>(
      this.#options.maxQueuedPerSubscriber,
      this.#options.overflow,
      () => {
        current.subscribers.delete(subscriber);
        if (current.subscribers.size > 0 || this.#topics.get(topic) !== current) return;
        this.#topics.delete(topic);
        void current.ready.then((stop) => stop()).catch(() => undefined);
      },
    );
    current.subscribers.add(subscriber);
    try {
      await current.ready;
      // Subscribed before reading the initial values: nothing between them is lost (a value may
      // repeat, which is harmless for a ticker).
      for (const value of await initial()) subscriber.push(value);
    } catch (error) {
      await subscriber.return();
      throw error;
    }
    return subscriber;
  }

  async close(): Promise<void> {
    const topics = [...this.#topics.values()];
    this.#topics.clear();
    for (const topic of topics) {
      for (const subscriber of [...topic.subscribers]) await subscriber.return();
      await topic.ready.then((stop) => stop()).catch(() => undefined);
    }
  }
}
