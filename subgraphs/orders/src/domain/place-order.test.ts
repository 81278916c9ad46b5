import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SyntheticEvents } from '../test-fixtures.ts';
import { MarketCatalog, notionalQuoteUnits, priceOf, quantityOf } from './market.ts';
import { planPlaceOrder, type PlaceOrderRequest } from './place-order.ts';

const catalog = new MarketCatalog();
for (const event of new SyntheticEvents().log) catalog.apply(event);
const btcUsdt = catalog.marketBySymbol('BTC-USDT')!;
const ethBtc = catalog.marketBySymbol('ETH-BTC')!;

const limit = (overrides: Partial<PlaceOrderRequest> = {}): PlaceOrderRequest => ({
  symbol: 'BTC-USDT',
  side: 'BUY',
  type: 'LIMIT',
  price: '30000.01',
  quantity: '0.5',
  ...overrides,
});

function refusal(request: PlaceOrderRequest, market = btcUsdt) {
  const plan = planPlaceOrder(request, market, 'u-1');
  return plan.ok ? null : { code: plan.code, field: plan.field };
}

describe('planPlaceOrder', () => {
  it('turns a valid limit order into exact ticks and lots with the contract defaults', () => {
    const plan = planPlaceOrder(limit({ clientOrderId: 'bot-1:a/b_c.d' }), btcUsdt, 'u-1');
    expect(plan).toEqual({
      ok: true,
      command: {
        type: 'PlaceOrder',
        userId: 'u-1',
        marketId: btcUsdt.marketId,
        side: 'BUY',
        orderType: 'LIMIT',
        timeInForce: 'GTC',
        priceTicks: 3_000_001,
        stopPriceTicks: null,
        quantityLots: 50_000,
        quoteBudgetUnits: null,
        postOnly: false,
        selfTradePrevention: 'EXPIRE_TAKER',
        clientOrderId: 'bot-1:a/b_c.d',
      },
    });
  });

  it('refuses input that can never be valid with the contract codes', () => {
    expect(refusal(limit({ price: '30000.015' }))).toEqual({ code: 'INVALID_TICK_SIZE', field: 'price' });
    expect(refusal(limit({ price: '30000.0000001' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'price' });
    expect(refusal(limit({ price: '30000.001' }))).toEqual({ code: 'INVALID_TICK_SIZE', field: 'price' });
    expect(refusal(limit({ quantity: '0.000001' }))).toEqual({ code: 'INVALID_LOT_SIZE', field: 'quantity' });
    expect(refusal(limit({ quantity: '0.000000001' }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'quantity',
    });
    expect(refusal(limit({ price: '1', quantity: '0.5' }))).toEqual({
      code: 'MIN_NOTIONAL',
      field: 'quantity',
    });
    for (const bad of ['0', '-1', '0.00', 'abc', '1e3', '', ' 1', '+1', '.5', '1.']) {
      expect(refusal(limit({ price: bad })), bad).toEqual({ code: 'BAD_USER_INPUT', field: 'price' });
      expect(refusal(limit({ quantity: bad })), bad).toEqual({ code: 'BAD_USER_INPUT', field: 'quantity' });
    }
    expect(refusal(limit({ price: '10000000000.01' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'price' });
    expect(refusal(limit({ clientOrderId: '' }))?.field).toBe('clientOrderId');
    expect(refusal(limit({ clientOrderId: 'x'.repeat(65) }))?.field).toBe('clientOrderId');
    expect(refusal(limit({ clientOrderId: 'has space' }))?.field).toBe('clientOrderId');
  });

  it('requires exactly the fields of each order type', () => {
    expect(refusal(limit({ price: null }))).toEqual({ code: 'BAD_USER_INPUT', field: 'price' });
    expect(refusal(limit({ quantity: null }))).toEqual({ code: 'BAD_USER_INPUT', field: 'quantity' });
    expect(refusal(limit({ stopPrice: '1' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'stopPrice' });
    expect(refusal(limit({ quoteQuantity: '100' }))?.field).toBe('quoteQuantity');
    expect(refusal(limit({ type: 'STOP_LIMIT' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'stopPrice' });
    expect(refusal(limit({ type: 'MARKET' }))).toEqual({ code: 'BAD_USER_INPUT', field: 'price' });
    const market = { symbol: 'BTC-USDT', side: 'BUY', type: 'MARKET' } as const;
    expect(refusal({ ...market })).toEqual({ code: 'BAD_USER_INPUT', field: 'quantity' });
    expect(refusal({ ...market, quantity: '1', quoteQuantity: '100' })).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'quantity',
    });
    expect(refusal({ ...market, side: 'SELL', quoteQuantity: '100' })?.field).toBe('quoteQuantity');
    expect(refusal({ ...market, quoteQuantity: '0.5' })).toEqual({
      code: 'MIN_NOTIONAL',
      field: 'quoteQuantity',
    });
    expect(refusal({ ...market, quoteQuantity: '100', timeInForce: 'FOK' })?.field).toBe('timeInForce');
    expect(refusal({ ...market, type: 'STOP_MARKET', stopPrice: '1', quantity: '1' })?.field).toBe(
      'quoteQuantity',
    );
    expect(refusal(limit({ postOnly: true, timeInForce: 'IOC' }))?.field).toBe('postOnly');
  });

  it('runs market orders as IOC (they never rest) and sizes market buys by quote budget', () => {
    const plan = planPlaceOrder(
      { symbol: 'BTC-USDT', side: 'BUY', type: 'MARKET', quoteQuantity: '100.5' },
      btcUsdt,
      'u',
    );
    expect(plan.ok && plan.command).toMatchObject({
      orderType: 'MARKET',
      timeInForce: 'IOC',
      quantityLots: null,
      quoteBudgetUnits: 100_500_000n,
      priceTicks: null,
    });
    const stop = planPlaceOrder(
      {
        symbol: 'BTC-USDT',
        side: 'SELL',
        type: 'STOP_MARKET',
        stopPrice: '29000',
        quantity: '0.1',
        timeInForce: 'FOK',
      },
      btcUsdt,
      'u',
    );
    expect(stop.ok && stop.command).toMatchObject({
      timeInForce: 'FOK',
      stopPriceTicks: 2_900_000,
      quantityLots: 10_000,
    });
  });

  it('agrees with the core on min notional at the boundary (ETH-BTC: quote is BTC)', () => {
    // min notional 0.0001 BTC = 10_000 sat; price 0.01 BTC × 0.001 ETH = 0.00001 BTC: too small.
    expect(refusal(limit({ symbol: 'ETH-BTC', price: '0.01', quantity: '0.001' }), ethBtc)?.code).toBe(
      'MIN_NOTIONAL',
    );
    expect(refusal(limit({ symbol: 'ETH-BTC', price: '0.1', quantity: '0.001' }), ethBtc)).toBeNull();
  });

  it('round-trips every valid price and quantity exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 1, max: 100_000_000 }),
        (ticks, lots) => {
          const request = limit({ price: priceOf(btcUsdt, ticks), quantity: quantityOf(btcUsdt, lots) });
          const plan = planPlaceOrder(request, btcUsdt, 'u');
          const belowMin = notionalQuoteUnits(btcUsdt, ticks, lots) < btcUsdt.minNotionalQuoteUnits;
          if (belowMin) return !plan.ok && plan.code === 'MIN_NOTIONAL';
          return plan.ok && plan.command.priceTicks === ticks && plan.command.quantityLots === lots;
        },
      ),
    );
  });
});
