/**
 * Main-thread handle of the core worker: `submit()` resolves only once the command is durable;
 * events arrive in order through `onEvents` listeners and/or the `events()` async iterator.
 *
 * Backpressure: at most `maxInFlight` commands are outstanding (further submits wait for a slot),
 * and while the `events()` consumer lags more than `maxBufferedEvents` behind, submits wait too —
 * memory stays bounded however fast producers are.
 */
import { Worker } from 'node:worker_threads';
import type { CommandInput, CommandResult, CoreEvent } from '@graphex/schema';
import type { DurableCoreOptions } from './durable-core.ts';
import type { RecoveryReport } from './journal/recovery.ts';
import type { FromWorker, ToWorker } from './worker.ts';

export interface CoreWorkerOptions extends DurableCoreOptions {
  /** Commands submitted but not yet durable (default 8,192). */
  readonly maxInFlight?: number;
  /** Events the `events()` iterator may buffer before submits wait (default 100,000). */
  readonly maxBufferedEvents?: number;
}

export interface CoreWorker {
  /** What recovery found when the worker started. */
  readonly recovery: RecoveryReport;
  /** Sequences and applies a command; resolves after it is durable in the journal. */
  submit(input: CommandInput): Promise<CommandResult>;
  /** Every event, in global order, batch by batch. Returns an unsubscribe function. */
  onEvents(listener: (events: readonly CoreEvent[]) => void): () => void;
  /** Every event, in order, for one consumer (buffered up to `maxBufferedEvents`, then backpressure). */
  events(): AsyncIterableIterator<CoreEvent>;
  stateHash(): Promise<string>;
  /** Forces a snapshot now; resolves with its path. */
  snapshot(): Promise<string>;
  /** Waits for outstanding commands, closes the journal and ends the worker. */
  close(): Promise<void>;
}

interface Pending {
  resolve(result: CommandResult): void;
  reject(error: Error): void;
}

export async function startCoreWorker(options: CoreWorkerOptions): Promise<CoreWorker> {
  const maxInFlight = options.maxInFlight ?? 8_192;
  const maxBufferedEvents = options.maxBufferedEvents ?? 100_000;
  const { maxInFlight: _a, maxBufferedEvents: _b, ...coreOptions } = options;
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    workerData: coreOptions,
    // A larger young generation: events and results are short-lived garbage (see bench:matching).
    resourceLimits: { maxYoungGenerationSizeMb: 96 },
  });

  const pending = new Map<number, Pending>();
  const replies = new Map<number, (value: string) => void>();
  const listeners = new Set<(events: readonly CoreEvent[]) => void>();
  const slotWaiters: (() => void)[] = [];
  let nextId = 1;
  let nextRequestId = 1;
  let inFlight = 0;
  let outbox: CommandInput[] = [];
  let outboxFirstId = 0;
  let flushScheduled = false;
  let closed = false;
  let failure: Error | null = null;
  let closedResolve: (() => void) | null = null;

  // events() iterator state
  let buffer: CoreEvent[] = [];
  let bufferHead = 0;
  let iteratorActive = false;
  let iteratorWake: (() => void) | null = null;

  const buffered = (): number => buffer.length - bufferHead;
  const canSubmit = (): boolean =>
    inFlight < maxInFlight && (!iteratorActive || buffered() < maxBufferedEvents);
  const wakeSubmitters = (): void => {
    while (slotWaiters.length > 0 && canSubmit()) slotWaiters.shift()!();
  };

  const ready = new Promise<RecoveryReport>((resolve, reject) => {
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          resolve(message.recovery);
          break;
        case 'failed':
          failure = new Error(`core worker failed: ${message.message}`);
          reject(failure);
          for (const entry of pending.values()) entry.reject(failure);
          pending.clear();
          break;
        case 'done': {
          const events = message.events as CoreEvent[];
          if (events.length > 0) {
            for (const listener of listeners) listener(events);
            if (iteratorActive) {
              for (const event of events) buffer.push(event);
              iteratorWake?.();
            }
          }
          const results = message.results as CommandResult[];
          for (let i = 0; i < results.length; i += 1) {
            const id = message.firstId + i;
            const entry = pending.get(id)!;
            pending.delete(id);
            inFlight -= 1;
            entry.resolve(results[i]!);
          }
          wakeSubmitters();
          break;
        }
        case 'reply':
          replies.get(message.requestId)?.(message.value);
          replies.delete(message.requestId);
          break;
        case 'closed':
          closedResolve?.();
          break;
      }
    });
    worker.on('error', (error) => {
      failure = error;
      reject(error);
      for (const entry of pending.values()) entry.reject(error);
      pending.clear();
    });
  });
  const recovery = await ready;

  const flush = (): void => {
    flushScheduled = false;
    if (outbox.length === 0) return;
    worker.postMessage({ type: 'submit', firstId: outboxFirstId, inputs: outbox } satisfies ToWorker);
    outbox = [];
  };

  const request = (type: 'stateHash' | 'snapshot'): Promise<string> =>
    new Promise((resolve) => {
      flush();
      const requestId = nextRequestId++;
      replies.set(requestId, resolve);
      worker.postMessage({ type, requestId } satisfies ToWorker);
    });

  return {
    recovery,
    async submit(input: CommandInput): Promise<CommandResult> {
      if (closed) throw new Error('core worker is closed');
      if (failure !== null) throw failure;
      while (!canSubmit()) await new Promise<void>((resolve) => slotWaiters.push(resolve));
      const id = nextId++;
      inFlight += 1;
      if (outbox.length === 0) outboxFirstId = id;
      outbox.push(input);
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flush);
      }
      return new Promise<CommandResult>((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    onEvents(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    events(): AsyncIterableIterator<CoreEvent> {
      if (iteratorActive) throw new Error('events() supports one consumer; use onEvents for more');
      iteratorActive = true;
      const iterator: AsyncIterableIterator<CoreEvent> = {
        async next(): Promise<IteratorResult<CoreEvent>> {
          while (buffered() === 0) {
            if (closed && inFlight === 0) return { done: true, value: undefined };
            await new Promise<void>((resolve) => (iteratorWake = resolve));
            iteratorWake = null;
          }
          const event = buffer[bufferHead++]!;
          if (bufferHead > 4096 && bufferHead * 2 > buffer.length) {
            buffer = buffer.slice(bufferHead);
            bufferHead = 0;
          }
          wakeSubmitters();
          return { done: false, value: event };
        },
        async return(): Promise<IteratorResult<CoreEvent>> {
          iteratorActive = false;
          buffer = [];
          bufferHead = 0;
          wakeSubmitters();
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
    stateHash: () => request('stateHash'),
    snapshot: () => request('snapshot'),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      flush();
      await new Promise<void>((resolve) => {
        closedResolve = resolve;
        worker.postMessage({ type: 'close' } satisfies ToWorker);
      });
      iteratorWake?.();
      await worker.terminate();
    },
  };
}
