/** Builders of core events for tests (the core integration builds the same events from core output). */
import type { FillState, OrderState } from './domain/order.ts';
import type { OrderProjectionEvent } from './projections/order-projection.ts';

export function orderState(overrides: Partial<OrderState> & Pick<OrderState, 'id' | 'userId'>): OrderState {
  const createdAt = overrides.createdAt ?? new Date('2026-01-01T00:00:00.000Z');
  return {
    clientOrderId: null,
    symbol: 'BTC-USDT',
    side: 'BUY',
    type: 'LIMIT',
    timeInForce: 'GTC',
    postOnly: false,
    selfTradePrevention: 'EXPIRE_TAKER',
    price: '30000.01',
    stopPrice: null,
    quantity: '0.5',
    status: 'OPEN',
    rejectReason: null,
    updatedAt: createdAt,
    ...overrides,
    createdAt,
  };
}

export function fillState(overrides: Partial<FillState> & Pick<FillState, 'tradeId' | 'orderId'>): FillState {
  return {
    price: '30000.01',
    quantity: '0.1',
    fee: '0.0001',
    feeCurrency: 'BTC',
    liquidity: 'MAKER',
    createdAt: new Date('2026-01-01T00:00:01.000Z'),
    ...overrides,
  };
}

/** A monotonically numbered event source, like one core shard. */
export function eventSource(stream = 'core') {
  let sequence = 0n;
  return {
    updated: (order: OrderState): OrderProjectionEvent => ({
      type: 'ORDER_UPDATED',
      stream,
      sequence: ++sequence,
      order,
    }),
    filled: (fill: FillState): OrderProjectionEvent => ({
      type: 'ORDER_FILLED',
      stream,
      sequence: ++sequence,
      fill,
    }),
  };
}
