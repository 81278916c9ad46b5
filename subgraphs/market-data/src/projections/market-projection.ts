/**
 * The market-data projection: follows the core's event log (`CoreClient.subscribe`) and keeps
 * the catalog, books, trades and candles in this service's Postgres schema (DESIGN.md rule 4),
 * plus an in-memory copy of every book and the catalog for fast reads.
 *
 * Idempotent and rebuildable: a batch commits in ONE transaction with the stored position
 * (`projection_position`, locked FOR UPDATE), events at or below it change nothing, and a replay
 * from 0 into empty tables writes the same rows. The in-memory state is loaded from the tables at
 * start and advanced only after a commit, so it always equals the persisted state at `position`.
 *
 * Several instances may share one PostgreSQL schema: each follows the log and keeps its own memory
 * copy; the position lock lets exactly one of them write (and publish) each event.
 */
import { createLinger, type Database, type Linger, type Logger } from '@graphex/runtime';
import type { CoreClient, CoreSubscription, PublicCoreEvent } from '@graphex/schema';
import { OrderBookState, type BookChange } from '../domain/book.ts';
import { loadProjectionState, lockPosition, writePlan } from '../store/projection-store.ts';
import {
  planBatch,
  ProjectionInvariantError,
  type BatchPlan,
  type Catalog,
  type MarketEntry,
  type TradeRow,
} from './batch-plan.ts';

/** What one applied batch changed, for the publishers (only what THIS instance committed). */
export interface CommittedBatch {
  readonly lastEventSeq: number;
  /** Book events per market, in bookSeq order. */
  readonly bookChanges: ReadonlyMap<number, readonly BookChange[]>;
  readonly trades: readonly TradeRow[];
  /** Markets whose ticker changed (a trade, or a new best bid/ask). */
  readonly tickerMarkets: ReadonlySet<number>;
}

/** Events per projection transaction at most. */
export const maxEventsPerTransaction = 5_000;

export type BatchListener = (batch: CommittedBatch) => Promise<void> | void;

export interface MarketProjectionOptions {
  readonly db: Database;
  readonly logger: Logger;
  /** Delay before following the log again after a failed batch (default 1 s). */
  readonly retryDelayMs?: number;
  /**
   * After a delivered batch, wait until this long after it began before taking the next (default
   * 0). Events arriving meanwhile are applied, committed and published together: at low event
   * rates the cost is per batch (a transaction, its statements, the publications, the core's
   * ack), so this trades at most this much feed latency for a fraction of that work.
   */
  readonly lingerMs?: number;
}

export class MarketProjection {
  readonly #db: Database;
  readonly #logger: Logger;
  readonly #retryDelayMs: number;
  readonly #linger: Linger;
  #position: number;
  #catalog: Catalog;
  readonly #books: Map<number, OrderBookState>;
  readonly #lastPrices: Map<number, number>;
  readonly #listeners = new Set<BatchListener>();
  readonly #advanceListeners = new Set<() => void>();
  #queue: Promise<unknown> = Promise.resolve();
  #subscription: CoreSubscription | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #caughtUp = false;
  #catchUpTarget = Number.POSITIVE_INFINITY;
  #caughtUpWaiters: Array<() => void> = [];

  private constructor(
    options: MarketProjectionOptions,
    state: Awaited<ReturnType<typeof loadProjectionState>>,
  ) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.#retryDelayMs = options.retryDelayMs ?? 1_000;
    this.#linger = createLinger(options.lingerMs ?? 0);
    this.#position = state.eventSeq;
    this.#catalog = state.catalog;
    this.#books = state.books;
    this.#lastPrices = state.lastPrices;
  }

  /** Loads the persisted state (the database must be migrated). */
  static async open(options: MarketProjectionOptions): Promise<MarketProjection> {
    return new MarketProjection(options, await loadProjectionState(options.db));
  }

  /** Last core event sequence applied to the in-memory state (= persisted). */
  get position(): number {
    return this.#position;
  }

  /** True once the projection reached the core's last event as of `start`. */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  market(symbol: string): MarketEntry | undefined {
    return this.#catalog.marketsBySymbol.get(symbol);
  }

  marketById(marketId: number): MarketEntry | undefined {
    return this.#catalog.markets.get(marketId);
  }

  /** Markets the core trades, by id. */
  markets(): MarketEntry[] {
    return [...this.#catalog.markets.values()].sort((a, b) => a.marketId - b.marketId);
  }

  /** The live in-memory book of a market (read-only use: never mutate it). */
  book(marketId: number): OrderBookState | undefined {
    return this.#books.get(marketId);
  }

  lastPriceTicks(marketId: number): number | undefined {
    return this.#lastPrices.get(marketId);
  }

  /** Called after each committed batch, in order, before the next batch is applied. */
  onCommitted(listener: BatchListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called (synchronously) whenever the in-memory state advanced. */
  onAdvance(listener: () => void): () => void {
    this.#advanceListeners.add(listener);
    return () => this.#advanceListeners.delete(listener);
  }

  /**
   * Follows the core from the current position. Resolves immediately; `whenCaughtUp()` resolves
   * once the position reaches the core's last event sequence read now.
   */
  async start(core: CoreClient): Promise<void> {
    this.#catchUpTarget = await core.lastEventSeq();
    this.#checkCaughtUp();
    this.#follow(core);
  }

  whenCaughtUp(): Promise<void> {
    if (this.#caughtUp) return Promise.resolve();
    return new Promise((resolve) => this.#caughtUpWaiters.push(resolve));
  }

  #checkCaughtUp(): void {
    if (this.#caughtUp || this.#position < this.#catchUpTarget) return;
    this.#caughtUp = true;
    for (const resolve of this.#caughtUpWaiters.splice(0)) resolve();
  }

  #follow(core: CoreClient): void {
    if (this.#closed) return;
    this.#subscription = core.subscribe(
      this.#position,
      async (events) => {
        const began = performance.now();
        await this.apply(events);
        // Live (not catching up): let the core gather what arrives for the next delivery.
        if (!this.#closed && this.#caughtUp) await this.#linger.hold(began);
      },
      (error) => {
        // A batch that failed was rolled back and memory is unchanged: follow again from the
        // position after a pause (a database outage heals; an invariant error keeps failing loudly).
        this.#logger.error('projection stopped; retrying', { error, position: this.#position });
        if (this.#closed) return;
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#follow(core);
        }, this.#retryDelayMs);
      },
    );
  }

  /**
   * Applies a batch of core events (in order; already applied ones are skipped), in transactions
   * of at most `maxEventsPerTransaction` events (a bound on lock time and memory per commit).
   */
  apply(events: readonly PublicCoreEvent[]): Promise<void> {
    const run = this.#queue.then(async () => {
      for (let i = 0; i < events.length; i += maxEventsPerTransaction)
        await this.#apply(events.slice(i, i + maxEventsPerTransaction));
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(events: readonly PublicCoreEvent[]): Promise<void> {
    const fresh = events.filter((event) => event.eventSeq > this.#position);
    if (fresh.length === 0) return;
    if (fresh[0]!.eventSeq !== this.#position + 1)
      throw new ProjectionInvariantError(
        `Event ${fresh[0]!.eventSeq} does not follow position ${this.#position}`,
      );
    const plan = planBatch(fresh, this.#catalog);
    this.#assertBooksFollow(plan);

    const committed = await this.#db.transaction(async (tx) => {
      const stored = await lockPosition(tx);
      if (stored >= plan.lastEventSeq) return null; // another instance wrote these events
      const toWrite = stored <= this.#position ? fresh : fresh.filter((event) => event.eventSeq > stored);
      if (toWrite[0]!.eventSeq !== stored + 1)
        throw new ProjectionInvariantError(
          `Stored position ${stored} is behind this instance (${this.#position})`,
        );
      const writePlanOf = toWrite === fresh ? plan : planBatch(toWrite, this.#catalogAt(stored, fresh));
      await writePlan(tx, writePlanOf);
      return { plan: writePlanOf, events: toWrite };
    });

    // Memory follows the commit (never before it: a rolled-back batch leaves no trace).
    const bestBefore = new Map<number, string>();
    for (const marketId of plan.bookSeqs.keys()) bestBefore.set(marketId, this.#bestKey(marketId));
    this.#catalog = plan.catalog;
    for (const marketId of plan.catalog.markets.keys()) {
      if (!this.#books.has(marketId)) this.#books.set(marketId, new OrderBookState());
    }
    const bookChanges = new Map<number, BookChange[]>();
    for (const event of fresh) {
      if (event.type !== 'BookLevelChanged') continue;
      const change: BookChange = {
        bookSeq: event.bookSeq,
        side: event.side,
        priceTicks: event.priceTicks,
        quantityLots: event.quantityLots,
        orderCount: event.orderCount,
      };
      this.#books.get(event.marketId)!.apply(change);
      let list = bookChanges.get(event.marketId);
      if (!list) bookChanges.set(event.marketId, (list = []));
      list.push(change);
    }
    for (const [marketId, priceTicks] of plan.lastPrices) this.#lastPrices.set(marketId, priceTicks);
    this.#position = plan.lastEventSeq;
    this.#checkCaughtUp();
    for (const listener of this.#advanceListeners) {
      try {
        listener();
      } catch (error) {
        this.#logger.error('advance listener failed', { error });
      }
    }
    if (!committed) return;

    const tickerMarkets = new Set<number>(committed.plan.lastPrices.keys());
    for (const [marketId, before] of bestBefore)
      if (before !== this.#bestKey(marketId)) tickerMarkets.add(marketId);
    const committedFrom = committed.events[0]!.eventSeq;
    const publishedBookChanges =
      committedFrom === fresh[0]!.eventSeq ? bookChanges : this.#bookChangesOf(committed.events);
    const batch: CommittedBatch = {
      lastEventSeq: committed.plan.lastEventSeq,
      bookChanges: publishedBookChanges,
      trades: committed.plan.trades,
      tickerMarkets,
    };
    for (const listener of this.#listeners) {
      try {
        await listener(batch);
      } catch (error) {
        // Publishing is at-most-once (subscribers resync on gaps); it never stops the projection.
        this.#logger.error('batch listener failed', { error });
      }
    }
  }

  #bookChangesOf(events: readonly PublicCoreEvent[]): Map<number, BookChange[]> {
    const changes = new Map<number, BookChange[]>();
    for (const event of events) {
      if (event.type !== 'BookLevelChanged') continue;
      let list = changes.get(event.marketId);
      if (!list) changes.set(event.marketId, (list = []));
      list.push({
        bookSeq: event.bookSeq,
        side: event.side,
        priceTicks: event.priceTicks,
        quantityLots: event.quantityLots,
        orderCount: event.orderCount,
      });
    }
    return changes;
  }

  /** The catalog as it stood after `stored` (catalog events of `fresh` up to it applied). */
  #catalogAt(stored: number, fresh: readonly PublicCoreEvent[]): Catalog {
    const upTo = fresh.filter((event) => event.eventSeq <= stored);
    return upTo.length === 0 ? this.#catalog : planBatch(upTo, this.#catalog).catalog;
  }

  #bestKey(marketId: number): string {
    const book = this.#books.get(marketId);
    return `${book?.best('BUY')?.priceTicks ?? '-'}/${book?.best('SELL')?.priceTicks ?? '-'}`;
  }

  #assertBooksFollow(plan: BatchPlan): void {
    for (const [marketId, first] of plan.firstBookSeqs) {
      const current = this.#books.get(marketId)?.bookSeq ?? 0;
      if (first !== current + 1)
        throw new ProjectionInvariantError(
          `Market ${marketId}: book event ${first} does not follow ${current}`,
        );
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#linger.end();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    await this.#subscription?.close();
    await this.#queue;
  }
}
