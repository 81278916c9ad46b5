import type { CoreClient, CoreEventHandler, PublicCoreEvent } from '@graphex/schema';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startProjectionRunner } from './projection-runner.ts';
import { testLogger } from './testing.ts';

/**
 * A core whose subscription behaves like both adapters: it hands the handler every event logged
 * after the cursor, and reads again only once the handler has finished.
 */
function scriptedCore() {
  const log: PublicCoreEvent[] = [];
  let wake: (() => void) | null = null;
  const core: CoreClient = {
    submit: () => Promise.reject(new Error('not used')),
    lastEventSeq: () => Promise.resolve(log.length),
    close: () => Promise.resolve(),
    subscribe(after: number, handler: CoreEventHandler) {
      let cursor = after;
      let active = true;
      const done = (async () => {
        while (active) {
          if (log.length <= cursor) {
            await new Promise<void>((resolve) => (wake = resolve));
            continue;
          }
          const batch = log.slice(cursor);
          await handler(batch);
          cursor = batch.at(-1)!.eventSeq;
        }
      })();
      return {
        close: async () => {
          active = false;
          wake?.();
          await done;
        },
      };
    },
  };
  const append = (count: number): void => {
    for (let i = 0; i < count; i += 1)
      log.push({ type: 'MarketHalted', eventSeq: log.length + 1 } as unknown as PublicCoreEvent);
    const current = wake;
    wake = null;
    current?.();
  };
  return { core, append };
}

async function startRunner(lingerMs: number) {
  const { core, append } = scriptedCore();
  const batches: number[][] = [];
  let stored = 0;
  const runner = await startProjectionRunner({
    name: 'test',
    readModel: 'test',
    core,
    logger: testLogger,
    maxEventsPerBatch: 100,
    lingerMs,
    readPosition: () => Promise.resolve(stored),
    apply: (events) => {
      batches.push(events.map((event) => event.eventSeq));
      stored = events.at(-1)!.eventSeq;
      return Promise.resolve(stored);
    },
  });
  return { runner, append, batches };
}

/** Lets the runner's promise chains settle (no timers fire). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
};

describe('projection runner linger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('applies events that arrive while it lingers as one batch, after the linger', async () => {
    vi.useFakeTimers();
    const { runner, append, batches } = await startRunner(50);
    append(1);
    await settle();
    expect(batches).toEqual([[1]]);
    append(3);
    await settle();
    // Still lingering after the first batch: nothing more applied yet.
    expect(batches).toEqual([[1]]);
    await vi.advanceTimersByTimeAsync(49);
    expect(batches).toEqual([[1]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    expect(runner.position()).toBe(4);
    const closing = runner.close();
    await vi.advanceTimersByTimeAsync(100);
    await closing;
  });

  it('a waitFor beyond the position ends the linger at once (read-your-writes is not delayed)', async () => {
    vi.useFakeTimers();
    const { runner, append, batches } = await startRunner(1_000);
    append(1);
    await settle();
    append(1);
    let reached = false;
    void runner.waitFor(2).then(() => (reached = true));
    await settle();
    // No timer advanced: the linger ended because someone waits for event 2.
    expect(reached).toBe(true);
    expect(batches).toEqual([[1], [2]]);
    // A waitFor already satisfied does not disturb the next linger.
    await runner.waitFor(2);
    append(1);
    await settle();
    expect(batches).toEqual([[1], [2]]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(batches).toEqual([[1], [2], [3]]);
    const closing = runner.close();
    await vi.advanceTimersByTimeAsync(2_000);
    await closing;
  });

  it('without a linger every delivery is applied as it comes', async () => {
    const { runner, append, batches } = await startRunner(0);
    append(1);
    await settle();
    append(2);
    await settle();
    expect(batches).toEqual([[1], [2, 3]]);
    await runner.close();
  });

  it('close ends a linger', async () => {
    const { runner, append, batches } = await startRunner(60_000);
    append(1);
    await settle();
    expect(batches).toEqual([[1]]);
    // Would hang for a minute if close left the linger running.
    await runner.close();
  });
});
