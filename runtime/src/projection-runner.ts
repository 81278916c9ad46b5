/**
 * Keeps a projection following the core's event log: resumes after the stored position, applies
 * each delivered batch (split into transactions of bounded size) and tells waiters when a
 * position is reached. A failed batch (database down, invariant broken) stops the subscription;
 * the runner logs it and resubscribes from the stored position after a back-off, so nothing is
 * skipped and nothing is applied twice.
 */
import { apiError } from '@graphex/schema';
import type { CoreClient, CoreSubscription, PublicCoreEvent } from '@graphex/schema';
import { createLinger } from './linger.ts';
import type { Logger } from './logger.ts';

export interface ProjectionRunnerOptions {
  readonly name: string;
  /** What the read model holds, for messages to clients ("order", "balance"). */
  readonly readModel: string;
  readonly core: CoreClient;
  readonly logger: Logger;
  /** Stored position (last applied eventSeq). */
  readonly readPosition: () => Promise<number>;
  /** Applies up to `maxEventsPerBatch` consecutive events in one transaction; returns the new position. */
  readonly apply: (events: readonly PublicCoreEvent[]) => Promise<number>;
  readonly maxEventsPerBatch: number;
  /** First retry delay after a failure; doubles up to 5 s. */
  readonly retryDelayMs?: number;
  /**
   * After a batch, wait until this long after it began before taking the next one (default 0:
   * never wait). Events that arrive meanwhile are applied together. At low event rates a
   * projection's cost is per batch (a transaction, its fixed statements, the core's ack), so a
   * read model nobody waits on trades a lag of at most this long for a fraction of that work.
   * A `waitFor` beyond the position ends the wait at once: read-your-writes is never delayed.
   */
  readonly lingerMs?: number;
}

export interface ProjectionRunner {
  /** Last applied eventSeq. */
  position(): number;
  /** Reached the core's last event as of start-up (the service is ready). */
  caughtUp(): boolean;
  /** Resolves once the projection applied `eventSeq` (SERVICE_UNAVAILABLE after `timeoutMs`). */
  waitFor(eventSeq: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const maxRetryDelayMs = 5_000;
/** Waiters at once: each is a pending mutation, so this bounds memory under a stalled projection. */
const maxWaiters = 10_000;

export async function startProjectionRunner(options: ProjectionRunnerOptions): Promise<ProjectionRunner> {
  const { core, logger } = options;
  let position = await options.readPosition();
  const startTarget = await core.lastEventSeq();
  let subscription: CoreSubscription | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let retryDelayMs = options.retryDelayMs ?? 100;
  let closed = false;
  const waiters = new Set<{ eventSeq: number; resolve: () => void }>();
  const linger = createLinger(options.lingerMs ?? 0);

  const advance = (to: number): void => {
    position = to;
    for (const waiter of waiters) {
      if (waiter.eventSeq <= position) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const handle = async (events: readonly PublicCoreEvent[]): Promise<void> => {
    const began = performance.now();
    for (let start = 0; start < events.length; start += options.maxEventsPerBatch) {
      advance(await options.apply(events.slice(start, start + options.maxEventsPerBatch)));
    }
    retryDelayMs = options.retryDelayMs ?? 100;
    // Nobody waits for the next batch: let the core gather more for it.
    if (!closed && waiters.size === 0) await linger.hold(began);
  };

  const subscribe = (): void => {
    subscription = core.subscribe(position, handle, (error) => {
      if (closed) return;
      logger.error(`${options.name} projection stopped; resubscribing`, { error, position, retryDelayMs });
      const stopped = subscription;
      subscription = null;
      void stopped?.close().catch(() => undefined);
      retryTimer = setTimeout(() => {
        retryTimer = null;
        void options
          .readPosition()
          .then((stored) => {
            if (closed) return;
            advance(Math.max(position, stored));
            subscribe();
          })
          .catch((readError: unknown) => {
            logger.error(`${options.name} projection cannot read its position`, { error: readError });
            retryTimer = setTimeout(subscribe, retryDelayMs);
          });
      }, retryDelayMs);
      retryDelayMs = Math.min(maxRetryDelayMs, retryDelayMs * 2);
    });
  };
  subscribe();

  return {
    position: () => position,
    caughtUp: () => position >= startTarget,
    waitFor(eventSeq, timeoutMs = 5_000) {
      if (eventSeq <= position) return Promise.resolve();
      linger.end();
      if (waiters.size >= maxWaiters)
        return Promise.reject(
          apiError('SERVICE_UNAVAILABLE', `The ${options.readModel} read model is behind; retry shortly.`),
        );
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            apiError('SERVICE_UNAVAILABLE', `The ${options.readModel} read model is behind; retry shortly.`),
          );
        }, timeoutMs);
        const waiter = {
          eventSeq,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.add(waiter);
      });
    },
    async close() {
      closed = true;
      linger.end();
      if (retryTimer) clearTimeout(retryTimer);
      await subscription?.close();
      subscription = null;
    },
  };
}
