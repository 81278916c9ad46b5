import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import { ordersMigrationsDir } from '../index.ts';
import { ordersByIds, fillsByOrderIds } from '../store/orders.ts';
import { eventSource, fillState, orderState } from '../test-fixtures.ts';
import {
  applyOrderEvent,
  applyOrderEvents,
  projectionPosition,
  ProjectionInvariantError,
} from './order-projection.ts';

let test: TestDatabase;

beforeAll(async () => {
  test = await openTestDatabase('orders', ordersMigrationsDir);
});

afterAll(async () => {
  await test?.dispose();
});

describe('order projection', () => {
  it('applies an order once; redelivery of the same event is a no-op', async () => {
    const events = eventSource('shard-a');
    const accepted = events.updated(
      orderState({ id: 'p-1', userId: 'u-1', price: '30000.0100', quantity: '0.50' }),
    );
    expect(await applyOrderEvent(test.db, accepted)).toBe('applied');
    expect(await applyOrderEvent(test.db, accepted)).toBe('duplicate');
    const [order] = await ordersByIds(test.db, ['p-1']);
    expect(order).toMatchObject({
      id: 'p-1',
      userId: 'u-1',
      price: '30000.01',
      quantity: '0.5',
      filledQuantity: '0',
      status: 'OPEN',
    });
    expect(await projectionPosition(test.db, 'shard-a')).toBe(1n);
  });

  it('accumulates fills exactly and updates status; replaying the whole stream changes nothing', async () => {
    const events = eventSource('shard-b');
    const base = orderState({ id: 'p-2', userId: 'u-1', price: '200', quantity: '0.4' });
    const stream = [
      events.updated(base),
      events.filled(fillState({ tradeId: 't-1', orderId: 'p-2', price: '100', quantity: '0.1' })),
      events.updated({ ...base, status: 'PARTIALLY_FILLED', updatedAt: new Date('2026-01-01T00:00:01Z') }),
      events.filled(fillState({ tradeId: 't-2', orderId: 'p-2', price: '200', quantity: '0.3' })),
      events.updated({ ...base, status: 'FILLED', updatedAt: new Date('2026-01-01T00:00:02Z') }),
    ];
    expect(await applyOrderEvents(test.db, stream)).toEqual({ applied: 5, duplicates: 0 });
    expect(await applyOrderEvents(test.db, stream)).toEqual({ applied: 0, duplicates: 5 });
    const [order] = await ordersByIds(test.db, ['p-2']);
    expect(order).toMatchObject({ status: 'FILLED', filledQuantity: '0.4', filledNotional: '70' });
    const fills = await fillsByOrderIds(test.db, ['p-2']);
    expect(fills.map((fill) => [fill.tradeId, fill.price, fill.quantity])).toEqual([
      ['t-1', '100', '0.1'],
      ['t-2', '200', '0.3'],
    ]);
  });

  it('refuses an overfill atomically: nothing changes and the position does not advance', async () => {
    const events = eventSource('shard-c');
    await applyOrderEvent(test.db, events.updated(orderState({ id: 'p-3', userId: 'u-1', quantity: '0.5' })));
    const overfill = events.filled(fillState({ tradeId: 't-9', orderId: 'p-3', quantity: '0.6' }));
    await expect(applyOrderEvent(test.db, overfill)).rejects.toThrow();
    const [order] = await ordersByIds(test.db, ['p-3']);
    expect(order?.filledQuantity).toBe('0');
    expect(await fillsByOrderIds(test.db, ['p-3'])).toEqual([]);
    expect(await projectionPosition(test.db, 'shard-c')).toBe(1n);
  });

  it('treats a contradicting event as an invariant violation, and a failed batch applies nothing', async () => {
    const events = eventSource('shard-d');
    await applyOrderEvent(test.db, events.updated(orderState({ id: 'p-4', userId: 'u-1' })));
    await expect(
      applyOrderEvent(test.db, events.updated(orderState({ id: 'p-4', userId: 'u-2' }))),
    ).rejects.toThrow(ProjectionInvariantError);
    await expect(
      applyOrderEvent(test.db, events.filled(fillState({ tradeId: 't-1', orderId: 'missing' }))),
    ).rejects.toThrow(ProjectionInvariantError);
    const batch = [
      events.updated(orderState({ id: 'p-5', userId: 'u-1' })),
      events.filled(fillState({ tradeId: 't-5', orderId: 'p-5', quantity: '9' })),
    ];
    await expect(applyOrderEvents(test.db, batch)).rejects.toThrow();
    expect(await ordersByIds(test.db, ['p-5'])).toEqual([]);
    expect(await projectionPosition(test.db, 'shard-d')).toBe(1n);
  });

  it('refuses malformed events before touching the database', async () => {
    const events = eventSource('shard-e');
    await expect(
      applyOrderEvent(test.db, events.updated(orderState({ id: 'p-6', userId: 'u-1', quantity: '0.1e1' }))),
    ).rejects.toThrow(ProjectionInvariantError);
    await expect(
      applyOrderEvent(test.db, {
        type: 'ORDER_UPDATED',
        stream: 'shard-e',
        sequence: 0n,
        order: orderState({ id: 'p-6', userId: 'u-1' }),
      }),
    ).rejects.toThrow(ProjectionInvariantError);
    expect(await projectionPosition(test.db, 'shard-e')).toBe(0n);
  });
});
