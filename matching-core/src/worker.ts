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
let scheduled = false;

function drain(): void {
  scheduled = false;
  while (queue.length > 0) {
    const ids: number[] = [];
    const counts: number[] = [];
    const inputs: CommandInput[] = [];
    while (queue.length > 0 && queue[0]!.type === 'submit' && inputs.length < MAX_BATCH_COMMANDS) {
      const message = queue.shift() as Extract<ToWorker, { type: 'submit' }>;
      ids.push(message.firstId);
      counts.push(message.inputs.length);
      for (const input of message.inputs) inputs.push(input);
    }
    if (inputs.length > 0) {
      const out = core.executeBatch(inputs, Date.now());
      // Acknowledge per submit message, after the fsync inside executeBatch.
      let offset = 0;
      for (let i = 0; i < ids.length; i += 1) {
        const results = out.results.slice(offset, offset + counts[i]!);
        const events = i === 0 ? out.events : [];
        port!.postMessage({ type: 'done', firstId: ids[i]!, results, events } satisfies FromWorker);
        offset += counts[i]!;
      }
      continue;
    }
    const message = queue.shift()!;
    if (message.type === 'stateHash')
      port!.postMessage({
        type: 'reply',
        requestId: message.requestId,
        value: core.stateHash(),
      } satisfies FromWorker);
    else if (message.type === 'snapshot')
      port!.postMessage({
        type: 'reply',
        requestId: message.requestId,
        value: core.snapshot(),
      } satisfies FromWorker);
    else if (message.type === 'close') {
      core.close();
      port!.postMessage({ type: 'closed' } satisfies FromWorker);
      port!.close();
      return;
    }
  }
}

port.on('message', (message: ToWorker) => {
  queue.push(message);
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain);
  }
});
