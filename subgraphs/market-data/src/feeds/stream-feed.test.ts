/** Trade/ticker fan-out over the bus port: one bus subscription per topic, bounded subscribers. */
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '@graphex/runtime';
import { testLogger } from '@graphex/runtime/testing';
import { StreamFeedHub } from './stream-feed.ts';

const decode = (message: string): number[] | null => {
  const value = JSON.parse(message) as unknown;
  return Array.isArray(value) ? (value as number[]) : null;
};

describe('stream feeds', () => {
  it('fans one bus topic out to every subscriber and unsubscribes with the last one', async () => {
    const bus = createMemoryBus();
    let busSubscriptions = 0;
    const counting = {
      ...bus,
      subscribe: async (topic: string, handler: (message: string) => void) => {
        busSubscriptions += 1;
        const stop = await bus.subscribe(topic, handler);
        return async () => {
          busSubscriptions -= 1;
          await stop();
        };
      },
    };
    const hub = new StreamFeedHub<number>({
      bus: counting,
      logger: testLogger,
      decode,
      maxQueuedPerSubscriber: 10,
      overflow: 'fail',
    });
    const a = await hub.subscribe('t');
    const b = await hub.subscribe('t', async () => [0]);
    expect(busSubscriptions).toBe(1);
    await bus.publish('t', JSON.stringify([1, 2]));
    expect([(await a.next()).value, (await a.next()).value]).toEqual([1, 2]);
    expect([(await b.next()).value, (await b.next()).value, (await b.next()).value]).toEqual([0, 1, 2]);
    await a.return!();
    expect(busSubscriptions).toBe(1);
    await b.return!();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(busSubscriptions).toBe(0);
    await hub.close();
  });

  it('ends a subscriber that falls behind a trade stream with LIMIT_EXCEEDED / SLOW_CONSUMER', async () => {
    const bus = createMemoryBus();
    const hub = new StreamFeedHub<number>({
      bus,
      logger: testLogger,
      decode,
      maxQueuedPerSubscriber: 2,
      overflow: 'fail',
    });
    const slow = await hub.subscribe('trades');
    await bus.publish('trades', JSON.stringify([1, 2, 3]));
    await expect(slow.next()).rejects.toMatchObject({
      extensions: { code: 'LIMIT_EXCEEDED', reason: 'SLOW_CONSUMER' },
    });
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    await hub.close();
  });

  it('keeps only the newest value for a conflated (ticker) stream', async () => {
    const bus = createMemoryBus();
    const hub = new StreamFeedHub<number>({
      bus,
      logger: testLogger,
      decode,
      maxQueuedPerSubscriber: 1,
      overflow: 'latest',
    });
    const ticker = await hub.subscribe('ticker');
    for (let i = 1; i <= 5; i++) await bus.publish('ticker', JSON.stringify([i]));
    expect((await ticker.next()).value).toBe(5);
    await bus.publish('ticker', '{}'); // malformed: ignored
    await bus.publish('ticker', JSON.stringify([6]));
    expect((await ticker.next()).value).toBe(6);
    await hub.close();
    expect((await ticker.next()).done).toBe(true);
  });
});
