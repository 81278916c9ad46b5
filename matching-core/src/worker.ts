/**
 * Worker-thread side of the core host: owns the DurableCore. Messages that arrive while a batch is
 * being applied and fsynced pile up and form the next batch — natural group commit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CommandInput } from '@graphex/schema';
import { DurableCore, type DurableCoreOptions } from './durable-core.ts';

export type ToWorker =
  | { readonly type: 'submit'; readonly firstId: number; readonly inputs: readonly CommandInput[] }
  | { readonly type: 'stateHash'; readonly requestId: number }
  | { readonly type: 'snapshot'; readonly requestId: number }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'ready'; readonly recovery: DurableCore['recovery'] }
  | {
      readonly type: 'done';
      readonly firstId: number;
      readonly results: unknown[];
      readonly events: unknown[];
    }
  | { readonly type: 'reply'; readonly requestId: number; readonly value: string }
  | { readonly type: 'closed' }
  | { readonly type: 'failed'; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('worker.ts must run in a worker thread');

const MAX_BATCH_COMMANDS = 8_192;
const options = workerData as DurableCoreOptions;
let core: DurableCore;
try {
  core = DurableCore.open(options);
} catch (error) {
  port.postMessage({ type: 'failed', message: String((error as Error).stack ?? error) } satisfies FromWorker);
  throw error;
}
port.postMessage({ type: 'ready', recovery: core.recovery } satisfies FromWorker);

const queue: ToWorker[] = [];
let wake: (() => void) | null = null;

interface InFlight {
  readonly ids: number[];
  readonly counts: number[];
  readonly results: unknown[];
  readonly events: unknown[];
  readonly durable: Promise<void>;
}

/** Takes the submits at the head of the queue (up to MAX_BATCH_COMMANDS) as one batch. */
function takeBatch(): { ids: number[]; counts: number[]; inputs: CommandInput[] } | null {
  const ids: number[] = [];
  const counts: number[] = [];
  const inputs: CommandInput[] = [];
  while (queue.length > 0 && queue[0]!.type === 'submit' && inputs.length < MAX_BATCH_COMMANDS) {
    const message = queue.shift() as Extract<ToWorker, { type: 'submit' }>;
    ids.push(message.firstId);
    counts.push(message.inputs.length);
    for (const input of message.inputs) inputs.push(input);
  }
  return inputs.length === 0 ? null : { ids, counts, inputs };
}

/** Acknowledges a durable batch: one reply per submit message, events with the first. */
function acknowledge(batch: InFlight): void {
  let offset = 0;
  for (let i = 0; i < batch.ids.length; i += 1) {
    const results = batch.results.slice(offset, offset + batch.counts[i]!);
    port!.postMessage({
      type: 'done',
      firstId: batch.ids[i]!,
      results,
      events: i === 0 ? batch.events : [],
    } satisfies FromWorker);
    offset += batch.counts[i]!;
  }
}

/**
 * The core loop. Pipelined group commit: batch k+1 is matched while batch k is written and
 * fdatasynced on the thread pool; batch k is acknowledged (results and events posted) only after
 * its fdatasync. Control messages run when nothing is in flight.
 */
async function run(): Promise<void> {
  let inFlight: InFlight | null = null;
  for (;;) {
    const batch = takeBatch();
    const staged = batch === null ? null : core.stageBatch(batch.inputs, Date.now());
    if (inFlight !== null) {
      await inFlight.durable;
      acknowledge(inFlight);
      inFlight = null;
      // Submits that arrived while we waited must form the next batch, not reach the control
      // path below (which would drop them: their callers would wait forever).
      if (batch === null) continue;
    }
    if (batch !== null && staged !== null) {
      inFlight = {
        ids: batch.ids,
        counts: batch.counts,
        results: staged.results,
        events: staged.events,
        durable: core.commitStaged(),
      };
      continue;
    }
    if (core.snapshotDue) core.snapshot();
    const message = queue.shift();
    if (message === undefined) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      continue;
    }
    if (message.type === 'stateHash') {
      port!.postMessage({
        type: 'reply',
        requestId: message.requestId,
        value: core.stateHash(),
      } satisfies FromWorker);
    } else if (message.type === 'snapshot') {
      port!.postMessage({
        type: 'reply',
        requestId: message.requestId,
        value: core.snapshot(),
      } satisfies FromWorker);
    } else if (message.type === 'close') {
      core.close();
      port!.postMessage({ type: 'closed' } satisfies FromWorker);
      port!.close();
      return;
    }
  }
}

port.on('message', (message: ToWorker) => {
  queue.push(message);
  wake?.();
});
void run().catch((error: unknown) => {
  port.postMessage({ type: 'failed', message: String((error as Error).stack ?? error) } satisfies FromWorker);
  throw error;
});
