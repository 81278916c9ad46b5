/**
 * Order book subscriptions. Per subscribed market, one feed per instance keeps a MIRROR of the
 * book fed by the bus (book events published by whichever instance committed them) and seeded from
 * this instance's projection; per distinct depth one window (domain/book-window.ts) turns every
 * book event into the DELTA a subscriber of that depth needs; per subscriber a bounded queue.
 *
 * Sequences. A subscriber first gets a SNAPSHOT at the mirror's sequence S, then one DELTA per book
 * event with sequence S+1, S+2, … (empty when the event lies outside its window). When the bus
 * skips a sequence (a message lost, or this instance's projection behind the publisher), the feed
 * waits until the local projection has the missing events, re-seeds the mirror from it and sends
 * every subscriber a fresh SNAPSHOT. A subscriber whose queue overflows (it reads slower than the
 * book changes) loses its queued DELTAs and gets a fresh SNAPSHOT when it next reads: memory per
 * subscriber stays bounded and no DELTA is ever skipped silently.
 */
import type { Bus, Logger } from '@graphex/runtime';
import { OrderBookState, type BookChange } from '../domain/book.ts';
import { BookWindow } from '../domain/book-window.ts';
import { levelViews, type OrderBookEventView } from '../domain/views.ts';
import type { MarketEntry } from '../projections/batch-plan.ts';
import type { MarketProjection } from '../projections/market-projection.ts';
import { bookTopic, decodeBookMessage } from './topics.ts';

export interface BookFeedLimits {
  /** DELTAs queued per subscriber before it is resynchronised with a SNAPSHOT. */
  readonly maxQueuedEventsPerSubscriber: number;
  /** Bus book events held while a feed waits for the local projection (oldest dropped beyond). */
  readonly maxPendingChangesPerFeed: number;
}

export const defaultBookFeedLimits: BookFeedLimits = {
  maxQueuedEventsPerSubscriber: 256,
  maxPendingChangesPerFeed: 10_000,
};

export interface BookFeedStats {
  readonly feeds: number;
  readonly subscribers: number;
  /** SNAPSHOTs sent after the first one of a subscription (slow subscribers, gaps). */
  readonly snapshotResends: number;
  /** Times a feed lost contiguity on the bus and re-seeded from the projection. */
  readonly resyncs: number;
}

class BookSubscriber implements AsyncIterableIterator<OrderBookEventView> {
  readonly #group: DepthGroup;
  readonly #maxQueued: number;
  #queue: OrderBookEventView[] = [];
  #needsSnapshot = true;
  #sentSnapshot = false;
  #done = false;
  #wake: (() => void) | undefined;

  constructor(group: DepthGroup, maxQueued: number) {
    this.#group = group;
    this.#maxQueued = maxQueued;
  }

  push(delta: OrderBookEventView): void {
    // While a SNAPSHOT is owed, it will be taken when read and include this event.
    if (this.#done || this.#needsSnapshot) return;
    if (this.#queue.length >= this.#maxQueued) {
      this.#queue = [];
      this.#needsSnapshot = true;
    } else this.#queue.push(delta);
    this.#signal();
  }

  /** The feed lost its mirror: drop what is queued; a SNAPSHOT follows once it is back. */
  resync(): void {
    this.#queue = [];
    this.#needsSnapshot = true;
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async next(): Promise<IteratorResult<OrderBookEventView>> {
    for (;;) {
      if (this.#done) return { value: undefined, done: true };
      if (this.#needsSnapshot && this.#group.ready) {
        this.#needsSnapshot = false;
        if (this.#sentSnapshot) this.#group.countResend();
        this.#sentSnapshot = true;
        return { value: this.#group.snapshot(), done: false };
      }
      const queued = this.#needsSnapshot ? undefined : this.#queue.shift();
      if (queued) return { value: queued, done: false };
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<OrderBookEventView>> {
    if (!this.#done) {
      this.#done = true;
      this.#queue = [];
      this.#signal();
      this.#group.remove(this);
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

class DepthGroup {
  readonly #feed: SymbolFeed;
  readonly window: BookWindow;
  readonly subscribers = new Set<BookSubscriber>();

  constructor(feed: SymbolFeed, depth: number) {
    this.#feed = feed;
    this.window = new BookWindow(depth);
  }

  get ready(): boolean {
    return this.#feed.mirror !== null;
  }

  countResend(): void {
    this.#feed.hub.snapshotResends += 1;
  }

  snapshot(): OrderBookEventView {
    const view = this.window.view();
    const { scale, symbol } = this.#feed.market;
    return {
      kind: 'SNAPSHOT',
      symbol,
      sequence: String(view.bookSeq),
      bids: levelViews(scale, view.bids),
      asks: levelViews(scale, view.asks),
    };
  }

  reset(mirror: OrderBookState): void {
    this.window.reset(mirror);
    for (const subscriber of this.subscribers) subscriber.resync();
  }

  advance(mirror: OrderBookState, change: BookChange): void {
    const delta = this.window.advance(mirror, change);
    const { scale, symbol } = this.#feed.market;
    // One immutable event object shared by every subscriber of this depth.
    const event: OrderBookEventView = {
      kind: 'DELTA',
      symbol,
      sequence: String(change.bookSeq),
      bids: levelViews(scale, delta.bids),
      asks: levelViews(scale, delta.asks),
    };
    for (const subscriber of this.subscribers) subscriber.push(event);
  }

  remove(subscriber: BookSubscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.#feed.removeGroup(this);
  }
}

class SymbolFeed {
  readonly hub: BookFeedHub;
  readonly market: MarketEntry;
  mirror: OrderBookState | null = null;
  readonly groups = new Map<number, DepthGroup>();
  #pending: BookChange[] = [];
  #stopBus: (() => Promise<void>) | undefined;
  #stopAdvance: (() => void) | undefined;
  #stopped = false;

  constructor(hub: BookFeedHub, market: MarketEntry) {
    this.hub = hub;
    this.market = market;
  }

  async start(): Promise<void> {
    // Bus first, then the local copy: every event after the copy's sequence is then either in the
    // copy or on its way through the bus (older bus events are ignored by sequence).
    const stopBus = await this.hub.bus.subscribe(bookTopic(this.market.symbol), (message) =>
      this.#onMessage(message),
    );
    if (this.#stopped) {
      await stopBus();
      return;
    }
    this.#stopBus = stopBus;
    this.#stopAdvance = this.hub.projection.onAdvance(() => this.#tryResync());
    this.#tryResync();
  }

  group(depth: number): DepthGroup {
    let group = this.groups.get(depth);
    if (!group) {
      group = new DepthGroup(this, depth);
      if (this.mirror) group.window.reset(this.mirror);
      this.groups.set(depth, group);
    }
    return group;
  }

  removeGroup(group: DepthGroup): void {
    if (this.groups.get(group.window.depth) === group) this.groups.delete(group.window.depth);
    if (this.groups.size === 0) this.hub.removeFeed(this);
  }

  #onMessage(message: string): void {
    const changes = decodeBookMessage(message);
    if (!changes) {
      this.hub.logger.warn('malformed book message ignored', { symbol: this.market.symbol });
      return;
    }
    for (const change of changes) this.#onChange(change);
  }

  #onChange(change: BookChange): void {
    const mirror = this.mirror;
    if (!mirror) {
      this.#pending.push(change);
      if (this.#pending.length > this.hub.limits.maxPendingChangesPerFeed) this.#pending.shift();
      this.#tryResync();
      return;
    }
    if (change.bookSeq <= mirror.bookSeq) return; // already in the mirror (seeded from the projection)
    if (change.bookSeq > mirror.bookSeq + 1) {
      this.#lose();
      this.#onChange(change);
      return;
    }
    mirror.apply(change);
    for (const group of this.groups.values()) group.advance(mirror, change);
  }

  #lose(): void {
    this.mirror = null;
    this.hub.resyncs += 1;
    for (const group of this.groups.values()) for (const subscriber of group.subscribers) subscriber.resync();
  }

  /** Re-seeds the mirror from the projection once it holds everything before the pending events. */
  #tryResync(): void {
    if (this.mirror || this.#stopped) return;
    const local = this.hub.projection.book(this.market.marketId);
    if (!local) return;
    const first = this.#pending[0];
    if (first && local.bookSeq < first.bookSeq - 1) return;
    const mirror = OrderBookState.from(local.snapshot());
    this.mirror = mirror;
    for (const group of this.groups.values()) group.reset(mirror);
    const pending = this.#pending;
    this.#pending = [];
    for (const change of pending) this.#onChange(change);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopAdvance?.();
    await this.#stopBus?.();
  }
}

export class BookFeedHub {
  readonly bus: Bus;
  readonly projection: MarketProjection;
  readonly logger: Logger;
  readonly limits: BookFeedLimits;
  readonly #feeds = new Map<string, Promise<SymbolFeed>>();
  readonly #started = new Set<SymbolFeed>();
  snapshotResends = 0;
  resyncs = 0;

  constructor(bus: Bus, projection: MarketProjection, logger: Logger, limits: Partial<BookFeedLimits> = {}) {
    this.bus = bus;
    this.projection = projection;
    this.logger = logger;
    this.limits = { ...defaultBookFeedLimits, ...limits };
  }

  /** A stream of SNAPSHOT then DELTA events of `market`'s top `depth` levels. */
  async subscribe(market: MarketEntry, depth: number): Promise<AsyncIterableIterator<OrderBookEventView>> {
    for (;;) {
      let pending = this.#feeds.get(market.symbol);
      if (!pending) {
        const created = new SymbolFeed(this, market);
        pending = created.start().then(() => {
          this.#started.add(created);
          return created;
        });
        this.#feeds.set(market.symbol, pending);
        pending.catch(() => this.#feeds.delete(market.symbol));
      }
      const feed = await pending;
      // The feed's last subscriber may have left (and stopped it) while this one waited.
      if (feed.stopped) {
        if (this.#feeds.get(market.symbol) === pending) this.#feeds.delete(market.symbol);
        continue;
      }
      const group = feed.group(depth);
      const subscriber = new BookSubscriber(group, this.limits.maxQueuedEventsPerSubscriber);
      group.subscribers.add(subscriber);
      return subscriber;
    }
  }

  /** Called synchronously when a feed's last subscriber left. */
  removeFeed(feed: SymbolFeed): void {
    if (!this.#started.delete(feed)) return;
    this.#feeds.delete(feed.market.symbol);
    feed.stop().catch((error: unknown) => this.logger.warn('book feed stop failed', { error }));
  }

  stats(): BookFeedStats {
    let subscribers = 0;
    for (const feed of this.#started)
      for (const group of feed.groups.values()) subscribers += group.subscribers.size;
    return {
      feeds: this.#started.size,
      subscribers,
      snapshotResends: this.snapshotResends,
      resyncs: this.resyncs,
    };
  }

  async close(): Promise<void> {
    const feeds = await Promise.allSettled([...this.#feeds.values()]);
    this.#feeds.clear();
    for (const result of feeds) {
      if (result.status !== 'fulfilled') continue;
      for (const group of result.value.groups.values())
        for (const subscriber of [...group.subscribers]) await subscriber.return();
      await result.value.stop();
    }
  }
}
