import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '@graphex/runtime';
import type { FillRecord } from '../domain/order.ts';
import { encodeNotification, UserStreams, userTopic } from './user-streams.ts';

const fill = (tradeId: string): FillRecord => ({
  tradeId,
  orderId: '7',
  price: '1',
  quantity: '1',
  fee: '0',
  feeCurrency: 'USDT',
  liquidity: 'MAKER',
  createdAt: new Date('2026-01-01T00:00:00Z'),
});

describe('UserStreams', () => {
  it('delivers in order, ends a subscriber that falls too far behind with LIMIT_EXCEEDED, and unsubscribes', async () => {
    const bus = createMemoryBus();
    const streams = new UserStreams(bus, 3);
    const fills = await streams.fills('u-1');
    const publish = (tradeId: string, userId = 'u-1') =>
      bus.publish(userTopic(userId), encodeNotification({ kind: 'fill', userId, fill: fill(tradeId) }));
    await publish('1');
    expect((await fills.next()).value).toEqual(fill('1'));
    for (const id of ['2', '3', '4']) await publish(id);
    await publish('x', 'u-2'); // someone else's topic
    await publish('5'); // one more than the buffer holds
    await expect(fills.next()).rejects.toMatchObject({ extensions: { code: 'LIMIT_EXCEEDED' } });
    expect(await fills.next()).toEqual({ value: undefined, done: true });
    await publish('6'); // unsubscribed: nothing is buffered any more
    expect(await fills.next()).toEqual({ value: undefined, done: true });
  });

  it('return() ends a waiting consumer', async () => {
    const bus = createMemoryBus();
    const streams = new UserStreams(bus, 10);
    const orders = await streams.orders('u-1');
    const pending = orders.next();
    await orders.return?.();
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});
