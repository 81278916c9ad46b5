/**
 * In-process adapter of the CoreClient port: the core runs in a worker thread of this process
 * (DESIGN: "matching core in a worker thread"), with its journal, snapshots, the user registry and
 * the consumer event log under `dataDir`. The core service process wraps exactly this adapter.
 */
import { mkdirSync } from 'node:fs';
import type {
  CommandInput,
  CommandResult,
  CoreClient,
  CoreCommand,
  CoreEvent,
  CoreEventHandler,
  CoreSubscription,
  PublicCoreEvent,
  SubmitOutcome,
} from '@graphex/schema';
import type { EngineConfig } from '../engine.ts';
import { referenceSetupCommands } from '../reference-setup.ts';
import { startCoreWorker, type CoreWorker } from '../worker-host.ts';
import { EventLog } from './event-log.ts';
import { replayEventsAfter } from './replay-events.ts';
import { UserRegistry } from './user-registry.ts';

export interface InProcessCoreOptions {
  readonly dataDir: string;
  readonly engine?: Partial<EngineConfig>;
  /** Seed the reference assets and markets of CONTRACT.md into an empty core (default true). */
  readonly seedReferenceData?: boolean;
  readonly snapshotEveryCommands?: number;
}

export interface InProcessCoreClient extends CoreClient {
  readonly worker: CoreWorker;
  /** State hash of the engine (books + balances), for tests and replay checks. */
  stateHash(): Promise<string>;
}

function toPublic(event: CoreEvent, users: UserRegistry): PublicCoreEvent {
  switch (event.type) {
    case 'FundsMoved':
    case 'OrderAccepted':
    case 'OrderRejected':
    case 'OrderDone':
    case 'BalanceChanged':
      return { ...event, userId: users.refOf(event.userId) };
    case 'Trade':
      return {
        ...event,
        makerUserId: users.refOf(event.makerUserId),
        takerUserId: users.refOf(event.takerUserId),
      };
    default:
      return event;
  }
}

function toInternal(command: CoreCommand, users: UserRegistry): CommandInput {
  if ('userId' in command) return { ...command, userId: users.idFor(command.userId) } as CommandInput;
  return command as CommandInput;
}

export async function createInProcessCoreClient(options: InProcessCoreOptions): Promise<InProcessCoreClient> {
  mkdirSync(options.dataDir, { recursive: true });
  const users = new UserRegistry(options.dataDir);
  const log = new EventLog(options.dataDir);
  const worker = await startCoreWorker({
    dataDir: options.dataDir,
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.snapshotEveryCommands ? { snapshotEveryCommands: options.snapshotEveryCommands } : {}),
  });

  // The journal may be ahead of the event log after a crash between their two fsyncs.
  if (worker.recovery.lastSeq > log.lastSeq) {
    const missing = replayEventsAfter(options.dataDir, log.lastSeq, options.engine ?? {});
    log.append(
      worker.recovery.lastSeq,
      missing.map((event) => toPublic(event, users)),
    );
  } else if (worker.recovery.lastSeq < log.lastSeq) {
    await worker.close();
    throw new Error(
      `Core event log (seq ${log.lastSeq}) is ahead of the journal (seq ${worker.recovery.lastSeq}) in ${options.dataDir}: the journal lost acknowledged commands. Refusing to start.`,
    );
  }

  const eventsOfSeq = new Map<number, PublicCoreEvent[]>();
  const wakers = new Set<() => void>();
  let closed = false;
  let commitFailure: Error | null = null;

  worker.onEvents((events) => {
    try {
      const publicEvents = events.map((event) => toPublic(event, users));
      log.append(events[events.length - 1]!.seq, publicEvents);
      for (const event of publicEvents) {
        let list = eventsOfSeq.get(event.seq);
        if (!list) eventsOfSeq.set(event.seq, (list = []));
        list.push(event);
      }
    } catch (error) {
      // The event log could not be written: acknowledging more commands would hide events from
      // every consumer. Stop accepting commands; a restart regenerates the tail from the journal.
      commitFailure = error as Error;
    }
    for (const wake of wakers) wake();
  });

  const submit = async (command: CoreCommand): Promise<SubmitOutcome> => {
    if (closed) throw new Error('Core client is closed.');
    if (commitFailure) throw commitFailure;
    const result: CommandResult = await worker.submit(toInternal(command, users));
    if (commitFailure) throw commitFailure;
    const events = eventsOfSeq.get(result.seq) ?? [];
    eventsOfSeq.delete(result.seq);
    return { result, events };
  };

  if (worker.recovery.lastSeq === 0 && options.seedReferenceData !== false) {
    for (const command of referenceSetupCommands) {
      const { result } = await submit(command as CoreCommand);
      if (result.code !== 0)
        throw new Error(`Seeding ${command.type} failed with result code ${result.code}.`);
    }
  }

  const subscribe = (
    afterEventSeq: number,
    handler: CoreEventHandler,
    onError?: (error: Error) => void,
  ): CoreSubscription => {
    let cursor = afterEventSeq;
    let active = true;
    let wake: (() => void) | null = null;
    const waker = (): void => wake?.();
    wakers.add(waker);
    const done = (async () => {
      // Never call the handler before subscribe() has returned its handle.
      await Promise.resolve();
      while (active) {
        const batch = log.readAfter(cursor);
        if (batch.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (!active || log.lastEventSeq > cursor) resolve();
          });
          wake = null;
          continue;
        }
        try {
          await handler(batch);
        } catch (error) {
          active = false;
          onError?.(error as Error);
          break;
        }
        cursor = batch[batch.length - 1]!.eventSeq;
      }
      wakers.delete(waker);
    })();
    return {
      close: async () => {
        active = false;
        wake?.();
        await done;
      },
    };
  };

  return {
    worker,
    submit,
    subscribe,
    lastEventSeq: async () => log.lastEventSeq,
    stateHash: () => worker.stateHash(),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const wake of wakers) wake();
      await worker.close();
      log.close();
      users.close();
    },
  };
}
