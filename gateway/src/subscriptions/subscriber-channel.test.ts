import { describe, expect, it } from 'vitest';
import { SubscriberChannel, type OverflowDecision } from './subscriber-channel.ts';

function channel(
  capacity: number,
  onOverflow?: (queued: readonly number[], incoming: number) => OverflowDecision<number>,
) {
  const closes: string[] = [];
  const c = new SubscriberChannel<number>({
    capacity,
    onOverflow: onOverflow ?? (() => ({ kind: 'fail', error: new Error('slow') })),
    onClose: () => closes.push('closed'),
  });
  return { c, closes };
}

describe('SubscriberChannel', () => {
  it('delivers in order, to a waiting consumer directly and from the queue otherwise', async () => {
    const { c } = channel(4);
    const waiting = c.next();
    c.push(1);
    expect(await waiting).toEqual({ value: 1, done: false });
    c.push(2);
    c.push(3);
    expect(c.queuedCount).toBe(2);
    expect(await c.next()).toEqual({ value: 2, done: false });
    expect(await c.next()).toEqual({ value: 3, done: false });
  });

  it('never holds more than its capacity: overflow fails the consumer immediately, dropping the queue', async () => {
    const { c, closes } = channel(2);
    for (let i = 0; i < 1_000; i++) c.push(i);
    expect(c.queuedCount).toBe(0);
    await expect(c.next()).rejects.toThrow('slow');
    expect(await c.next()).toEqual({ value: undefined, done: true });
    expect(closes).toEqual(['closed']);
  });

  it('replaces the queue with what the overflow hook returns (conflation) when it fits', async () => {
    const { c } = channel(3, (_queued, incoming) => ({ kind: 'replace', items: [100, incoming] }));
    for (let i = 1; i <= 4; i++) c.push(i);
    expect(c.queuedCount).toBe(2);
    expect(await c.next()).toEqual({ value: 100, done: false });
    expect(await c.next()).toEqual({ value: 4, done: false });
  });

  it('fails when the conflated queue would not fit', async () => {
    const { c } = channel(2, () => ({ kind: 'replace', items: [1, 2, 3] }));
    c.push(1);
    c.push(2);
    c.push(3);
    await expect(c.next()).rejects.toThrow('Conflation returned 3 items for a queue of 2.');
  });

  it('ends after the queued items, with the end error last', async () => {
    const { c, closes } = channel(4);
    c.push(1);
    c.end(new Error('gone'));
    c.push(2);
    expect(await c.next()).toEqual({ value: 1, done: false });
    await expect(c.next()).rejects.toThrow('gone');
    expect(await c.next()).toEqual({ value: undefined, done: true });
    expect(closes).toEqual(['closed']);
  });

  it('return() releases a waiting consumer and notifies close once', async () => {
    const { c, closes } = channel(4);
    const waiting = c.next();
    await c.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    await c.return();
    c.push(1);
    expect(await c.next()).toEqual({ value: undefined, done: true });
    expect(closes).toEqual(['closed']);
  });

  it('refuses a capacity below one', () => {
    expect(() => channel(0)).toThrow('capacity must be a positive integer');
  });

  describe('direct delivery', () => {
    function direct(
      capacity: number,
      onOverflow?: (queued: readonly number[], incoming: number) => OverflowDecision<number>,
    ) {
      const log: string[] = [];
      const taken: number[] = [];
      const c: SubscriberChannel<number> = new SubscriberChannel<number>({
        capacity,
        onOverflow: onOverflow ?? (() => ({ kind: 'fail', error: new Error('slow') })),
        onClose: () => log.push('closed'),
        direct: {
          onReadable: (channel) => log.push(`readable ${channel.queuedCount}`),
          onEnding: (channel) => {
            const items = channel.drain();
            taken.push(...items);
            log.push(`ending took ${items.length}`);
          },
        },
      });
      return { c, log, taken };
    }

    it('queues items for the writer and tells it; next() only settles when the stream ends', async () => {
      const { c, log, taken } = direct(4);
      let settled = false;
      const waiting = c.next().then((result) => {
        settled = true;
        return result;
      });
      c.push(1);
      c.push(2);
      expect(log).toEqual(['readable 1', 'readable 2']);
      await Promise.resolve();
      expect(settled).toBe(false);
      expect(c.drain()).toEqual([1, 2]);
      expect(c.drain()).toEqual([]);
      c.push(3);
      c.end();
      // The writer takes the last items before the iterator reports the end.
      expect(taken).toEqual([3]);
      expect(await waiting).toEqual({ value: undefined, done: true });
      expect(log).toEqual(['readable 1', 'readable 2', 'readable 1', 'closed', 'ending took 1']);
    });

    it('applies the overflow policy when the writer does not take the items', async () => {
      const { c, log } = direct(2, (_queued, incoming) => ({ kind: 'replace', items: [100, incoming] }));
      for (let i = 1; i <= 3; i++) c.push(i);
      expect(c.drain()).toEqual([100, 3]);
      expect(log).toEqual(['readable 1', 'readable 2', 'readable 2']);
    });

    it('rejects the waiting iterator when the channel fails (slow consumer), dropping the queue', async () => {
      const { c } = direct(1);
      const waiting = c.next();
      c.push(1);
      c.push(2);
      await expect(waiting).rejects.toThrow('slow');
      expect(c.drain()).toEqual([]);
    });

    it('an end with an error rejects after the writer took the items', async () => {
      const { c, taken } = direct(4);
      c.push(1);
      c.end(new Error('gone'));
      expect(taken).toEqual([1]);
      await expect(c.next()).rejects.toThrow('gone');
      expect(await c.next()).toEqual({ value: undefined, done: true });
    });
  });
});
