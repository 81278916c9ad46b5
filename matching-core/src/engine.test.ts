import { ResultCode, resultCodeToErrorCode } from '@graphex/schema';
import { describe, expect, it } from 'vitest';
import { AssetIds, MarketIds } from './reference-setup.ts';
import { EngineHarness } from './testing.ts';

const { BTC, ETH, USDT } = AssetIds;
const M = MarketIds.BTC_USDT;
const P = 5_000_000; // 50,000.00 USDT
const USDT_1M = 1_000_000_000_000n; // 1,000,000 USDT
const BTC_10 = 1_000_000_000n; // 10 BTC

function funded(): EngineHarness {
  const h = new EngineHarness();
  for (const user of [1, 2, 3]) {
    h.deposit(user, USDT, USDT_1M);
    h.deposit(user, BTC, BTC_10);
  }
  return h;
}

describe('limit orders and settlement', () => {
  it('rests, matches at the maker price with exact fees and releases price improvement', () => {
    const h = funded();
    const sell = h.limit(2, M, 'SELL', P, 3);
    expect(sell.status).toBe('OPEN');
    expect(h.locked(2, BTC)).toBe(3_000n);
    const buy = h.limit(1, M, 'BUY', P + 1, 5);
    expect(buy).toMatchObject({
      code: ResultCode.OK,
      status: 'PARTIALLY_FILLED',
      filledLots: 3,
      remainingLots: 2,
    });
    const [trade] = h.eventsOf('Trade');
    expect(trade).toMatchObject({
      priceTicks: P,
      quantityLots: 3,
      baseUnits: 3_000n,
      quoteUnits: 1_500_000n,
    });
    expect(trade!.takerFeeUnits).toBe(6n); // 0.2 % of 3,000 sat, in BTC (what the buyer receives)
    expect(trade!.makerFeeUnits).toBe(1_500n); // 0.1 % of 1.5 USDT, in USDT
    // Buyer: paid 1.5 USDT, holds exactly ceil(2 lots × 50,000.01 × 0.1) for the rest.
    expect(h.locked(1, USDT)).toBe(1_000_001n);
    expect(h.available(1, USDT)).toBe(USDT_1M - 1_500_000n - 1_000_001n);
    expect(h.available(1, BTC)).toBe(BTC_10 + 2_994n);
    expect(h.available(2, USDT)).toBe(USDT_1M + 1_498_500n);
    expect(h.available(2, BTC)).toBe(BTC_10 - 3_000n);
    expect(h.engine.assets.get(BTC)!.feeRevenueUnits).toBe(6n);
    expect(h.engine.assets.get(USDT)!.feeRevenueUnits).toBe(1_500n);
  });

  it('keeps price-time priority: better price first, then earlier', () => {
    const h = funded();
    const a = h.limit(2, M, 'SELL', P + 2, 2).orderId;
    const b = h.limit(3, M, 'SELL', P + 1, 2).orderId;
    const c = h.limit(2, M, 'SELL', P + 1, 2).orderId;
    h.limit(1, M, 'BUY', P + 2, 6);
    expect(h.eventsOf('Trade').map((t) => t.makerOrderId)).toEqual([b, c, a]);
  });

  it('rounds the quote amount down for both sides and the buy hold up (BTC-USDT: 0.1 unit per tick·lot)', () => {
    const h = funded();
    const price = 1_000_001; // 10,000.01 USDT: one lot is worth 100,000.1 micro-USDT
    expect(h.limit(2, M, 'SELL', price, 9).code).toBe(ResultCode.BELOW_MIN_NOTIONAL); // 900,000.9 < 1 USDT
    h.limit(2, M, 'SELL', price, 13); // 1,300,001.3 units
    const buy = h.limit(1, M, 'BUY', price + 2, 13, { timeInForce: 'IOC' });
    expect(buy.status).toBe('FILLED');
    expect(h.eventsOf('OrderAccepted')[0]!.holdUnits).toBe(1_300_004n); // ceil(1,300,003.9) at the limit
    const [trade] = h.eventsOf('Trade');
    expect(trade!.quoteUnits).toBe(1_300_001n); // floor(1,300,001.3) at the maker price
    expect(trade!.makerFeeUnits).toBe(1_301n); // ceil(1,300.0013)
    expect(h.available(1, USDT)).toBe(USDT_1M - 1_300_001n); // the buyer pays exactly the floor…
    expect(h.locked(1, USDT)).toBe(0n); // …and the unused hold is released
    expect(h.available(2, USDT)).toBe(USDT_1M + 1_300_001n - 1_301n); // the seller receives the same floor
    expect(h.engine.assets.get(USDT)!.feeRevenueUnits).toBe(1_301n);
    h.engine.assertInvariants(); // conservation is exact
  });
});

describe('time in force', () => {
  it('IOC remainder expires (an order state, not an error) and releases its hold', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 2);
    const r = h.limit(1, M, 'BUY', P, 5, { timeInForce: 'IOC' });
    expect(r).toMatchObject({ code: ResultCode.OK, status: 'EXPIRED', filledLots: 2, remainingLots: 3 });
    expect(h.eventsOf('OrderDone').at(-1)).toMatchObject({ status: 'EXPIRED', reason: 'IOC_REMAINDER' });
    expect(h.locked(1, USDT)).toBe(0n);
  });

  it('FOK that cannot fill completely expires untouched; one that can fills', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 2);
    h.limit(3, M, 'SELL', P + 5, 2);
    const balances = [h.available(1, USDT), h.locked(1, USDT)];
    const r = h.limit(1, M, 'BUY', P + 4, 3, { timeInForce: 'FOK' });
    expect(r).toMatchObject({ status: 'EXPIRED', filledLots: 0 });
    expect(h.eventsOf('Trade')).toHaveLength(0);
    expect(h.eventsOf('BalanceChanged')).toHaveLength(0);
    expect([h.available(1, USDT), h.locked(1, USDT)]).toEqual(balances);
    const ok = h.limit(1, M, 'BUY', P + 5, 3, { timeInForce: 'FOK' });
    expect(ok).toMatchObject({ status: 'FILLED', filledLots: 3 });
  });

  it('post-only that would trade is refused with no order and no balance change; otherwise rests', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 2);
    const before = h.available(1, USDT);
    const r = h.limit(1, M, 'BUY', P, 2, { postOnly: true });
    expect(r.code).toBe(ResultCode.POST_ONLY_WOULD_TRADE);
    expect(resultCodeToErrorCode[r.code]).toBe('POST_ONLY_WOULD_TRADE');
    expect(h.available(1, USDT)).toBe(before);
    expect(h.eventsOf('OrderRejected')).toHaveLength(1);
    expect(h.limit(1, M, 'BUY', P - 1, 3, { postOnly: true }).status).toBe('OPEN');
  });
});

describe('self-trade prevention (the taker mode wins)', () => {
  const setup = () => {
    const h = funded();
    const maker = h.limit(1, M, 'SELL', P, 2).orderId!;
    h.limit(2, M, 'SELL', P + 1, 2);
    return { h, maker };
  };
  it('EXPIRE_TAKER: taker expires, maker stays', () => {
    const { h, maker } = setup();
    const r = h.limit(1, M, 'BUY', P + 1, 4, { selfTradePrevention: 'EXPIRE_TAKER' });
    expect(r).toMatchObject({ status: 'EXPIRED', filledLots: 0 });
    expect(h.eventsOf('OrderDone')[0]).toMatchObject({ reason: 'SELF_TRADE' });
    expect(h.engine.orders.has(maker)).toBe(true);
  });
  it('EXPIRE_MAKER: maker expires, taker trades on with others', () => {
    const { h, maker } = setup();
    const r = h.limit(1, M, 'BUY', P + 1, 4, { selfTradePrevention: 'EXPIRE_MAKER' });
    expect(r).toMatchObject({ status: 'PARTIALLY_FILLED', filledLots: 2 });
    expect(h.engine.orders.has(maker)).toBe(false);
    expect(h.locked(1, BTC)).toBe(0n);
  });
  it('EXPIRE_BOTH: both expire', () => {
    const { h, maker } = setup();
    const r = h.limit(1, M, 'BUY', P + 1, 4, { selfTradePrevention: 'EXPIRE_BOTH' });
    expect(r.status).toBe('EXPIRED');
    expect(h.engine.orders.has(maker)).toBe(false);
  });
  it('NONE: trades with itself, fees still charged', () => {
    const { h } = setup();
    const r = h.limit(1, M, 'BUY', P, 2, { selfTradePrevention: 'NONE' });
    expect(r.status).toBe('FILLED');
    expect(h.eventsOf('Trade')[0]).toMatchObject({ makerUserId: 1, takerUserId: 1 });
  });
});

describe('market orders', () => {
  it('market buy by quantity spends only what it needs and expires when the book runs out', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 2);
    h.limit(2, M, 'SELL', P + 100, 2);
    const r = h.market(1, M, 'BUY', 5);
    expect(r).toMatchObject({ status: 'EXPIRED', filledLots: 4, remainingLots: 1 });
    expect(h.eventsOf('OrderDone').at(-1)!.reason).toBe('IOC_REMAINDER');
    expect(h.locked(1, USDT)).toBe(0n);
    expect(h.available(1, USDT)).toBe(USDT_1M - 1_000_000n - 1_000_020n);
  });
  it('market buy by quote budget never overspends', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 10);
    const before = h.available(1, USDT);
    const r = h.market(1, M, 'BUY', null, 1_750_000n); // 1.75 USDT at 0.5 USDT per lot → 3 lots
    expect(r).toMatchObject({ status: 'FILLED', filledLots: 3 });
    expect(before - h.available(1, USDT)).toBe(1_500_000n);
    expect(h.locked(1, USDT)).toBe(0n);
  });
  it('market buy by quantity with too little balance fills what it can afford', () => {
    const h = new EngineHarness();
    h.deposit(1, USDT, 1_200_000n);
    h.deposit(2, BTC, BTC_10);
    h.limit(2, M, 'SELL', P, 10);
    const r = h.market(1, M, 'BUY', 10);
    expect(r).toMatchObject({ status: 'EXPIRED', filledLots: 2 });
    expect(h.eventsOf('OrderDone').at(-1)!.reason).toBe('BUDGET_EXHAUSTED');
    expect(h.available(1, USDT)).toBe(200_000n);
  });
  it('market sell into an empty book expires with nothing filled', () => {
    const h = funded();
    expect(h.market(1, M, 'SELL', 3)).toMatchObject({ status: 'EXPIRED', filledLots: 0 });
    expect(h.locked(1, BTC)).toBe(0n);
  });
});

describe('stop orders', () => {
  it('stop-limit triggers on the last trade price, in sequence, and cancel releases a pending stop', () => {
    const h = funded();
    const stop = h.limit(1, M, 'BUY', P + 10, 2, { orderType: 'STOP_LIMIT', stopPriceTicks: P + 5 });
    expect(stop.status).toBe('PENDING_TRIGGER');
    expect(h.locked(1, USDT)).toBe(1_000_002n); // ceil(2 lots × 50,000.10 USDT × 0.00001)
    h.limit(2, M, 'SELL', P + 5, 2);
    h.limit(3, M, 'SELL', P + 8, 2);
    h.limit(3, M, 'BUY', P + 5, 2); // trade at P+5 → triggers the stop, which buys at P+8
    expect(h.eventsOf('OrderTriggered')).toHaveLength(1);
    const trades = h.eventsOf('Trade');
    expect(trades.map((t) => t.priceTicks)).toEqual([P + 5, P + 8]);
    expect(trades[1]!.takerOrderId).toBe(stop.orderId);
    const pending = h.limit(1, M, 'SELL', P - 10, 3, { orderType: 'STOP_LIMIT', stopPriceTicks: P - 5 });
    expect(h.locked(1, BTC)).toBe(3_000n);
    expect(h.run({ type: 'CancelOrder', userId: 1, orderId: pending.orderId! }).status).toBe('CANCELLED');
    expect(h.locked(1, BTC)).toBe(0n);
  });
  it('stop-market sell triggers and runs as a market order', () => {
    const h = funded();
    h.limit(2, M, 'BUY', P - 20, 5);
    h.limit(1, M, 'SELL', 0, 0, {
      orderType: 'STOP_MARKET',
      timeInForce: 'IOC',
      priceTicks: null,
      stopPriceTicks: P - 10,
      quantityLots: 3,
    });
    h.limit(3, M, 'SELL', P - 10, 3);
    h.limit(2, M, 'BUY', P - 10, 3); // last trade P-10 → trigger
    expect(h.eventsOf('Trade').map((t) => [t.priceTicks, t.quantityLots])).toEqual([
      [P - 10, 3],
      [P - 20, 3],
    ]);
  });
});

describe('amend', () => {
  it('quantity down keeps queue priority and releases hold', () => {
    const h = funded();
    const first = h.limit(2, M, 'SELL', P, 5).orderId!;
    const second = h.limit(3, M, 'SELL', P, 5).orderId!;
    expect(
      h.run({ type: 'AmendOrder', userId: 2, orderId: first, priceTicks: null, quantityLots: 3 })
        .remainingLots,
    ).toBe(3);
    expect(h.locked(2, BTC)).toBe(3_000n);
    expect(h.eventsOf('OrderAmended')[0]!.requeued).toBe(false);
    h.limit(1, M, 'BUY', P, 3);
    expect(h.eventsOf('Trade')[0]!.makerOrderId).toBe(first);
    expect(h.engine.orders.has(second)).toBe(true);
  });
  it('price change re-queues and can trade as a taker', () => {
    const h = funded();
    const buy = h.limit(1, M, 'BUY', P - 10, 4).orderId!;
    h.limit(2, M, 'SELL', P, 2);
    const r = h.run({ type: 'AmendOrder', userId: 1, orderId: buy, priceTicks: P, quantityLots: null });
    expect(r).toMatchObject({ status: 'PARTIALLY_FILLED', filledLots: 2, remainingLots: 2 });
    expect(h.locked(1, USDT)).toBe(1_000_000n);
  });
  it('refuses amends that need funds the user lacks, leaving the order unchanged', () => {
    const h = new EngineHarness();
    h.deposit(1, USDT, 2_000_000n);
    const buy = h.limit(1, M, 'BUY', P, 2).orderId!;
    const r = h.run({ type: 'AmendOrder', userId: 1, orderId: buy, priceTicks: P * 3, quantityLots: null });
    expect(r.code).toBe(ResultCode.INSUFFICIENT_FUNDS);
    expect(h.engine.orders.get(buy)!.priceTicks).toBe(P);
  });
});

describe('more order behaviour', () => {
  it('quantity up re-queues behind the level (loses priority)', () => {
    const h = funded();
    const first = h.limit(2, M, 'SELL', P, 3).orderId!;
    const second = h.limit(3, M, 'SELL', P, 3).orderId!;
    const r = h.run({ type: 'AmendOrder', userId: 2, orderId: first, priceTicks: null, quantityLots: 4 });
    expect(r).toMatchObject({ status: 'OPEN', remainingLots: 4 });
    expect(h.eventsOf('OrderAmended')[0]!.requeued).toBe(true);
    expect(h.locked(2, BTC)).toBe(4_000n);
    h.limit(1, M, 'BUY', P, 3);
    expect(h.eventsOf('Trade')[0]!.makerOrderId).toBe(second);
  });
  it('post-only order amended to a crossing price is refused and left as it was', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 3);
    const id = h.limit(1, M, 'BUY', P - 5, 3, { postOnly: true }).orderId!;
    const r = h.run({ type: 'AmendOrder', userId: 1, orderId: id, priceTicks: P, quantityLots: null });
    expect(r.code).toBe(ResultCode.POST_ONLY_WOULD_TRADE);
    expect(h.engine.orders.get(id)!.priceTicks).toBe(P - 5);
  });
  it('a stop whose condition already holds triggers at placement', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 6);
    h.limit(1, M, 'BUY', P, 3); // last trade P
    const r = h.limit(1, M, 'BUY', P, 3, { orderType: 'STOP_LIMIT', stopPriceTicks: P - 10 });
    expect(h.eventsOf('OrderTriggered')).toHaveLength(1);
    expect(r).toMatchObject({ status: 'FILLED', filledLots: 3 });
  });
  it('FOK market buy fills completely or not at all; STP applies to market orders', () => {
    const h = funded();
    h.limit(2, M, 'SELL', P, 3);
    expect(h.market(1, M, 'BUY', 4, null, { timeInForce: 'FOK' })).toMatchObject({
      status: 'EXPIRED',
      filledLots: 0,
    });
    expect(h.market(1, M, 'BUY', 3, null, { timeInForce: 'FOK' })).toMatchObject({
      status: 'FILLED',
      filledLots: 3,
    });
    h.limit(1, M, 'SELL', P, 3);
    const r = h.market(1, M, 'BUY', 3, null, { selfTradePrevention: 'EXPIRE_TAKER' });
    expect(r).toMatchObject({ status: 'EXPIRED', filledLots: 0 });
    expect(h.eventsOf('OrderDone')[0]!.reason).toBe('SELF_TRADE');
  });
  it('invalid shapes are refused as INVALID_COMMAND (BAD_USER_INPUT)', () => {
    const h = funded();
    for (const extra of [
      { quantityLots: 0 },
      { orderType: 'MARKET' as const, timeInForce: 'GTC' as const },
      { postOnly: true, timeInForce: 'IOC' as const },
      {
        orderType: 'STOP_MARKET' as const,
        timeInForce: 'IOC' as const,
        priceTicks: null,
        stopPriceTicks: P,
        quantityLots: 3,
      }, // buy needs a budget
    ]) {
      const r = h.limit(1, M, 'BUY', P, 3, extra);
      expect(r.code).toBe(ResultCode.INVALID_COMMAND);
      expect(resultCodeToErrorCode[r.code]).toBe('BAD_USER_INPUT');
    }
  });
});

describe('market state and refusals', () => {
  it('halt refuses placements and amends but allows cancels; resume re-opens', () => {
    const h = funded();
    const id = h.limit(1, M, 'BUY', P, 2).orderId!;
    expect(h.run({ type: 'HaltMarket', marketId: M }).code).toBe(ResultCode.OK);
    expect(h.limit(1, M, 'BUY', P, 2).code).toBe(ResultCode.MARKET_HALTED);
    expect(
      h.run({ type: 'AmendOrder', userId: 1, orderId: id, priceTicks: P - 1, quantityLots: null }).code,
    ).toBe(ResultCode.MARKET_HALTED);
    expect(h.run({ type: 'CancelOrder', userId: 1, orderId: id }).status).toBe('CANCELLED');
    expect(h.run({ type: 'HaltMarket', marketId: M }).code).toBe(ResultCode.MARKET_STATE_UNCHANGED);
    expect(h.run({ type: 'ResumeMarket', marketId: M }).code).toBe(ResultCode.OK);
    expect(h.limit(1, M, 'BUY', P, 2).code).toBe(ResultCode.OK);
  });
  it('insufficient funds, unknown market, not open, not owned', () => {
    const h = funded();
    expect(h.limit(1, M, 'BUY', P, 10_000_000).code).toBe(ResultCode.INSUFFICIENT_FUNDS);
    expect(h.limit(1, 99, 'BUY', P, 2).code).toBe(ResultCode.MARKET_NOT_FOUND);
    const id = h.limit(1, M, 'BUY', P, 2).orderId!;
    expect(h.run({ type: 'CancelOrder', userId: 2, orderId: id }).code).toBe(ResultCode.ORDER_NOT_OWNED);
    expect(resultCodeToErrorCode[ResultCode.ORDER_NOT_OWNED]).toBe('NOT_FOUND');
    h.run({ type: 'CancelOrder', userId: 1, orderId: id });
    expect(h.run({ type: 'CancelOrder', userId: 1, orderId: id }).code).toBe(ResultCode.ORDER_NOT_OPEN);
  });
  it('clientOrderId: identical retry returns the original order, a different request is refused', () => {
    const h = funded();
    const first = h.limit(1, M, 'BUY', P, 2, { clientOrderId: 'abc' });
    const again = h.limit(1, M, 'BUY', P, 2, { clientOrderId: 'abc' });
    expect(again).toMatchObject({ code: ResultCode.OK_IDEMPOTENT_REPLAY, orderId: first.orderId });
    expect(h.lastEvents).toHaveLength(0);
    expect(h.limit(1, M, 'BUY', P, 3, { clientOrderId: 'abc' }).code).toBe(
      ResultCode.DUPLICATE_CLIENT_ORDER_ID,
    );
    expect(h.limit(2, M, 'BUY', P, 3, { clientOrderId: 'abc' }).code).toBe(ResultCode.OK); // per user
    h.run({ type: 'HaltMarket', marketId: M });
    expect(h.limit(1, M, 'BUY', P, 2, { clientOrderId: 'abc' }).code).toBe(ResultCode.OK_IDEMPOTENT_REPLAY);
  });
  it('clientOrderId memory is bounded per user (FIFO)', () => {
    const h = new EngineHarness({ maxClientOrderIdsPerUser: 2 });
    h.deposit(1, USDT, USDT_1M);
    for (const id of ['a', 'b', 'c']) h.limit(1, M, 'BUY', P, 2, { clientOrderId: id });
    expect(h.engine.users.get(1)!.clientOrders!.size).toBe(2);
    expect(h.limit(1, M, 'BUY', P, 2, { clientOrderId: 'a' }).code).toBe(ResultCode.OK); // forgotten
  });
  it('open-order limits per user and per market', () => {
    const h = new EngineHarness({ maxOpenOrdersPerUser: 2, maxOpenOrdersPerMarket: 3 });
    h.deposit(1, USDT, USDT_1M);
    h.deposit(2, USDT, USDT_1M);
    h.limit(1, M, 'BUY', P, 2);
    h.limit(1, M, 'BUY', P, 2);
    const r = h.limit(1, M, 'BUY', P, 2);
    expect(r.code).toBe(ResultCode.USER_OPEN_ORDER_LIMIT);
    expect(resultCodeToErrorCode[r.code]).toBe('LIMIT_EXCEEDED');
    h.limit(2, M, 'BUY', P, 2);
    expect(h.limit(2, M, 'BUY', P, 2).code).toBe(ResultCode.MARKET_OPEN_ORDER_LIMIT);
  });
  it('cancel all, optionally per market', () => {
    const h = funded();
    h.deposit(1, ETH, 10n ** 20n);
    h.limit(1, M, 'BUY', P, 2);
    h.limit(1, MarketIds.ETH_USDT, 'SELL', 300_000, 100);
    h.limit(1, M, 'SELL', P + 100, 2);
    h.run({ type: 'CancelAll', userId: 1, marketId: M });
    expect(h.eventsOf('OrderDone')).toHaveLength(2);
    expect(h.engine.users.get(1)!.openOrders).toBe(1);
    h.run({ type: 'CancelAll', userId: 1, marketId: null });
    expect(h.engine.users.get(1)!.openOrders).toBe(0);
    expect(h.locked(1, ETH)).toBe(0n);
  });
});

describe('admin refusals', () => {
  it('assets and markets: duplicates, unknown assets, bad sizes; stops are not amendable', () => {
    const h = funded();
    expect(h.run({ type: 'AddAsset', assetId: BTC, symbol: 'BTC2', decimals: 8 }).code).toBe(
      ResultCode.ASSET_EXISTS,
    );
    expect(resultCodeToErrorCode[ResultCode.ASSET_EXISTS]).toBe('ALREADY_EXISTS');
    expect(h.run({ type: 'AddAsset', assetId: 5000, symbol: 'X', decimals: 8 }).code).toBe(
      ResultCode.INVALID_COMMAND,
    );
    const market = {
      type: 'AddMarket' as const,
      marketId: M,
      symbol: 'BTC-USDT',
      baseAssetId: BTC,
      quoteAssetId: USDT,
      tickSizeQuoteUnits: 10_000n,
      lotSizeBaseUnits: 1_000n,
      minNotionalQuoteUnits: 0n,
      makerFeePpm: 0,
      takerFeePpm: 0,
      maxPriceTicks: 10,
      maxQuantityLots: 10,
    };
    expect(h.run(market).code).toBe(ResultCode.MARKET_EXISTS);
    expect(h.run({ ...market, marketId: 9, baseAssetId: 77 }).code).toBe(ResultCode.UNKNOWN_ASSET);
    expect(h.run({ ...market, marketId: 9, lotSizeBaseUnits: 0n }).code).toBe(ResultCode.INVALID_COMMAND);
    expect(h.run({ ...market, marketId: 9, takerFeePpm: 2_000_000 }).code).toBe(ResultCode.INVALID_COMMAND);
    expect(h.run({ type: 'Deposit', userId: 1, assetId: 77, amountUnits: 1n }).code).toBe(
      ResultCode.UNKNOWN_ASSET,
    );
    expect(h.run({ type: 'Deposit', userId: 1, assetId: BTC, amountUnits: 0n }).code).toBe(
      ResultCode.INVALID_COMMAND,
    );
    const stop = h.limit(1, M, 'BUY', P, 3, { orderType: 'STOP_LIMIT', stopPriceTicks: P + 50 }).orderId!;
    const amend = h.run({
      type: 'AmendOrder',
      userId: 1,
      orderId: stop,
      priceTicks: P - 1,
      quantityLots: null,
    });
    expect(amend.code).toBe(ResultCode.ORDER_NOT_AMENDABLE);
    expect(h.run({ type: 'HaltMarket', marketId: 42 }).code).toBe(ResultCode.MARKET_NOT_FOUND);
  });
});

describe('wallet commands', () => {
  it('withdraw hold, settle and release; admin adjust never below zero', () => {
    const h = funded();
    expect(
      h.run({ type: 'WithdrawHold', userId: 1, assetId: BTC, withdrawalId: 7, amountUnits: 100n }).code,
    ).toBe(0);
    expect(h.locked(1, BTC)).toBe(100n);
    expect(
      h.run({ type: 'WithdrawHold', userId: 1, assetId: BTC, withdrawalId: 7, amountUnits: 1n }).code,
    ).toBe(ResultCode.WITHDRAWAL_EXISTS);
    expect(h.run({ type: 'WithdrawSettle', withdrawalId: 7 }).code).toBe(0);
    expect(h.locked(1, BTC)).toBe(0n);
    expect(h.available(1, BTC)).toBe(BTC_10 - 100n);
    h.run({ type: 'WithdrawHold', userId: 1, assetId: BTC, withdrawalId: 8, amountUnits: 50n });
    h.run({ type: 'WithdrawRelease', withdrawalId: 8 });
    expect(h.available(1, BTC)).toBe(BTC_10 - 100n);
    expect(h.run({ type: 'WithdrawSettle', withdrawalId: 8 }).code).toBe(ResultCode.WITHDRAWAL_NOT_FOUND);
    expect(
      h.run({ type: 'WithdrawHold', userId: 1, assetId: BTC, withdrawalId: 9, amountUnits: BTC_10 }).code,
    ).toBe(ResultCode.INSUFFICIENT_FUNDS);
    expect(h.run({ type: 'AdminAdjust', userId: 1, assetId: BTC, amountUnits: -BTC_10 }).code).toBe(
      ResultCode.INSUFFICIENT_FUNDS,
    );
    expect(h.run({ type: 'AdminAdjust', userId: 1, assetId: BTC, amountUnits: -100n }).code).toBe(0);
    expect(h.engine.assets.get(BTC)!.adjustedUnits).toBe(-100n);
  });
});

describe('events', () => {
  it('global eventSeq and per-market bookSeq are contiguous', () => {
    const h = funded();
    h.deposit(4, ETH, 10n ** 21n);
    h.deposit(4, USDT, USDT_1M);
    for (let i = 0; i < 20; i += 1) {
      h.limit(1 + (i % 3), M, i % 2 ? 'BUY' : 'SELL', P + (i % 5), 2 + (i % 3));
      h.limit(4, MarketIds.ETH_USDT, i % 2 ? 'BUY' : 'SELL', 300_000 + (i % 4), 100);
    }
    const seqs = h.allEvents.map((e) => e.eventSeq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    for (const marketId of [M, MarketIds.ETH_USDT]) {
      const bookSeqs = h
        .eventsOf('BookLevelChanged', h.allEvents)
        .filter((e) => e.marketId === marketId)
        .map((e) => e.bookSeq);
      expect(bookSeqs).toEqual(bookSeqs.map((_, i) => i + 1));
    }
  });
  it('out-of-sequence commands are refused without a state change', () => {
    const h = funded();
    const r = h.engine.execute({
      type: 'Deposit',
      userId: 1,
      assetId: BTC,
      amountUnits: 1n,
      seq: h.engine.lastSeq + 5,
      timeMs: 0,
    });
    expect(r.result.code).toBe(ResultCode.OUT_OF_SEQUENCE);
  });
});

describe('18-decimal ETH', () => {
  it('settles ETH-BTC and ETH-USDT amounts beyond 2^53 exactly', () => {
    const h = new EngineHarness();
    const eth1000 = 1_000n * 10n ** 18n;
    h.deposit(1, ETH, eth1000);
    h.deposit(2, BTC, BTC_10 * 100n);
    h.deposit(2, USDT, USDT_1M * 10n);
    // ETH-BTC: 500 ETH at 0.05 BTC (50,000 ticks of 0.000001), 500,000 lots of 0.001 ETH
    h.limit(1, MarketIds.ETH_BTC, 'SELL', 50_000, 500_000);
    const r = h.limit(2, MarketIds.ETH_BTC, 'BUY', 50_000, 500_000);
    expect(r.status).toBe('FILLED');
    const [trade] = h.eventsOf('Trade');
    expect(trade!.baseUnits).toBe(500n * 10n ** 18n);
    expect(trade!.quoteUnits).toBe(25n * 10n ** 8n); // 25 BTC
    expect(h.available(2, ETH)).toBe(500n * 10n ** 18n - 10n ** 18n); // 0.2 % taker fee = 1 ETH
    expect(h.available(1, ETH)).toBe(500n * 10n ** 18n);
  });
});
