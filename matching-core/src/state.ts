/**
 * Engine state as a plain, JSON-safe value (bigints as decimal strings): the snapshot format and
 * the input of `stateHash()`. Export order is canonical: assets, markets and users sorted by id,
 * book orders in price-time priority, and order-dependent sets (a user's open orders, the
 * clientOrderId FIFO, pending stops) in their semantic order — so equal states hash equally and a
 * restored engine behaves exactly like the live one.
 */
import { createHash } from 'node:crypto';
import type { OrderStatus, OrderType, SelfTradePrevention, TimeInForce } from '@graphex/schema';
import { AssetState, MarketState, MatchingEngine, UserState, assert, type EngineConfig } from './engine.ts';
import { Order, type SideIndex } from './order.ts';

export interface OrderRecord {
  readonly id: number;
  readonly userId: number;
  readonly side: SideIndex;
  readonly orderType: OrderType;
  readonly timeInForce: TimeInForce;
  readonly priceTicks: number;
  readonly stopPriceTicks: number;
  readonly quantityLots: number;
  readonly filledLots: number;
  readonly remainingLots: number;
  readonly quoteBudgetUnits: string | null;
  readonly holdUnits: string;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientOrderId: string | null;
  readonly status: OrderStatus;
  readonly queueSeq: number;
}

export interface EngineSnapshot {
  readonly version: 1;
  readonly config: EngineConfig;
  readonly lastSeq: number;
  readonly lastTimeMs: number;
  readonly eventSeq: number;
  readonly tradeSeq: number;
  readonly queueSeq: number;
  readonly assets: readonly {
    readonly assetId: number;
    readonly symbol: string;
    readonly decimals: number;
    readonly feeRevenueUnits: string;
    readonly depositedUnits: string;
    readonly withdrawnUnits: string;
    readonly adjustedUnits: string;
  }[];
  readonly markets: readonly {
    readonly config: Record<string, string | number>;
    readonly halted: boolean;
    readonly bookSeq: number;
    readonly lastTradePriceTicks: number;
    readonly bids: readonly OrderRecord[];
    readonly asks: readonly OrderRecord[];
    readonly stops: readonly OrderRecord[];
  }[];
  readonly users: readonly {
    readonly userId: number;
    /** [assetId, available, locked] for every asset. */
    readonly balances: readonly (readonly [number, string, string])[];
    /** Open order ids in placement order. */
    readonly orderIds: readonly number[];
    /** [clientOrderId, orderId, fingerprint] oldest first. */
    readonly clientOrders: readonly (readonly [string, number, string])[];
  }[];
  readonly withdrawals: readonly (readonly [number, number, number, string])[];
}

function orderRecord(order: Order): OrderRecord {
  return {
    id: order.id,
    userId: order.userId,
    side: order.side,
    orderType: order.orderType,
    timeInForce: order.timeInForce,
    priceTicks: order.priceTicks,
    stopPriceTicks: order.stopPriceTicks,
    quantityLots: order.quantityLots,
    filledLots: order.filledLots,
    remainingLots: order.remainingLots,
    quoteBudgetUnits: order.quoteBudgetUnits === null ? null : order.quoteBudgetUnits.toString(),
    holdUnits: order.holdUnits.toString(),
    postOnly: order.postOnly,
    selfTradePrevention: order.selfTradePrevention,
    clientOrderId: order.clientOrderId,
    status: order.status,
    queueSeq: order.queueSeq,
  };
}

function orderFromRecord(r: OrderRecord, marketId: number): Order {
  const order = new Order(
    r.id,
    r.userId,
    marketId,
    r.side,
    r.orderType,
    r.timeInForce,
    r.priceTicks,
    r.stopPriceTicks,
    r.quantityLots,
    r.quoteBudgetUnits === null ? null : BigInt(r.quoteBudgetUnits),
    r.postOnly,
    r.selfTradePrevention,
    r.clientOrderId,
  );
  order.filledLots = r.filledLots;
  order.remainingLots = r.remainingLots;
  order.holdUnits = BigInt(r.holdUnits);
  order.status = r.status;
  order.queueSeq = r.queueSeq;
  return order;
}

const byId =
  <T>(key: (x: T) => number) =>
  (a: T, b: T) =>
    key(a) - key(b);

/** The whole engine state as a JSON-safe value. */
export function exportState(engine: MatchingEngine): EngineSnapshot {
  const assetIds = [...engine.assets.keys()].sort((a, b) => a - b);
  return {
    version: 1,
    config: engine.config,
    lastSeq: engine.lastSeq,
    lastTimeMs: engine.lastTimeMs,
    eventSeq: engine.eventSeq,
    tradeSeq: engine.tradeSeq,
    queueSeq: engine.queueSeq,
    assets: [...engine.assets.values()].sort(byId((a) => a.assetId)).map((a) => ({
      assetId: a.assetId,
      symbol: a.symbol,
      decimals: a.decimals,
      feeRevenueUnits: a.feeRevenueUnits.toString(),
      depositedUnits: a.depositedUnits.toString(),
      withdrawnUnits: a.withdrawnUnits.toString(),
      adjustedUnits: a.adjustedUnits.toString(),
    })),
    markets: [...engine.markets.values()].sort(byId((m) => m.marketId)).map((m) => ({
      config: Object.fromEntries(
        Object.entries(m.config).map(([k, v]) => [
          k,
          typeof v === 'bigint' ? v.toString() : (v as string | number),
        ]),
      ),
      halted: m.halted,
      bookSeq: m.bookSeq,
      lastTradePriceTicks: m.lastTradePriceTicks,
      bids: m.book.orders(0).map(orderRecord),
      asks: m.book.orders(1).map(orderRecord),
      stops: m.stops.map(orderRecord),
    })),
    users: [...engine.users.values()].sort(byId((u) => u.userId)).map((u) => ({
      userId: u.userId,
      balances: assetIds.map(
        (id) => [id, u.availableUnits[id]!.toString(), u.lockedUnits[id]!.toString()] as const,
      ),
      orderIds: u.openOrderList().map((o) => o.id),
      clientOrders:
        u.clientOrders === null
          ? []
          : [...u.clientOrders].map(([k, v]) => [k, v.orderId, v.fingerprint] as const),
    })),
    withdrawals: [...engine.withdrawals.values()]
      .sort(byId((w) => w.withdrawalId))
      .map((w) => [w.withdrawalId, w.userId, w.assetId, w.amountUnits.toString()] as const),
  };
}

/** Rebuilds an engine from a snapshot; `book` may differ from the snapshot's (differential tests). */
export function importState(snapshot: EngineSnapshot, overrides: Partial<EngineConfig> = {}): MatchingEngine {
  assert(snapshot.version === 1, 'unknown snapshot version');
  const engine = new MatchingEngine({ ...snapshot.config, ...overrides });
  engine.lastSeq = snapshot.lastSeq;
  engine.lastTimeMs = snapshot.lastTimeMs;
  engine.eventSeq = snapshot.eventSeq;
  engine.tradeSeq = snapshot.tradeSeq;
  engine.queueSeq = snapshot.queueSeq;
  for (const a of snapshot.assets) {
    const asset = new AssetState(a.assetId, a.symbol, a.decimals);
    asset.feeRevenueUnits = BigInt(a.feeRevenueUnits);
    asset.depositedUnits = BigInt(a.depositedUnits);
    asset.withdrawnUnits = BigInt(a.withdrawnUnits);
    asset.adjustedUnits = BigInt(a.adjustedUnits);
    engine.assets.set(a.assetId, asset);
  }
  for (const u of snapshot.users) {
    const user = new UserState(u.userId);
    user.ensureSlots(engine.assetSlots);
    for (const [assetId, available, locked] of u.balances) {
      user.availableUnits[assetId] = BigInt(available);
      user.lockedUnits[assetId] = BigInt(locked);
    }
    if (u.clientOrders.length > 0) {
      user.clientOrders = new Map(
        u.clientOrders.map(([k, orderId, fingerprint]) => [k, { orderId, fingerprint }]),
      );
    }
    engine.users.set(u.userId, user);
  }
  for (const m of snapshot.markets) {
    const c = m.config;
    const config = {
      marketId: Number(c['marketId']),
      symbol: String(c['symbol']),
      baseAssetId: Number(c['baseAssetId']),
      quoteAssetId: Number(c['quoteAssetId']),
      tickSizeQuoteUnits: BigInt(c['tickSizeQuoteUnits']!),
      lotSizeBaseUnits: BigInt(c['lotSizeBaseUnits']!),
      minNotionalQuoteUnits: BigInt(c['minNotionalQuoteUnits']!),
      makerFeePpm: Number(c['makerFeePpm']),
      takerFeePpm: Number(c['takerFeePpm']),
      maxPriceTicks: Number(c['maxPriceTicks']),
      maxQuantityLots: Number(c['maxQuantityLots']),
    };
    const market = new MarketState(config, engine.assets.get(config.baseAssetId)!.decimals, engine.newBook());
    market.halted = m.halted;
    market.bookSeq = m.bookSeq;
    market.lastTradePriceTicks = m.lastTradePriceTicks;
    for (const r of [...m.bids, ...m.asks]) {
      const order = orderFromRecord(r, config.marketId);
      market.book.add(order);
      engine.orders.set(order.id, order);
    }
    for (const r of m.stops) {
      const order = orderFromRecord(r, config.marketId);
      market.stops.push(order);
      engine.orders.set(order.id, order);
    }
    market.openOrders = m.bids.length + m.asks.length + m.stops.length;
    engine.markets.set(config.marketId, market);
  }
  for (const u of snapshot.users) {
    const user = engine.users.get(u.userId)!;
    for (const id of u.orderIds) {
      const order = engine.orders.get(id);
      assert(order !== undefined, `snapshot: user ${u.userId} order ${id} missing`);
      order.owner = user;
      user.linkOrder(order);
    }
    user.openOrders = u.orderIds.length;
  }
  for (const [withdrawalId, userId, assetId, amount] of snapshot.withdrawals) {
    engine.withdrawals.set(withdrawalId, { withdrawalId, userId, assetId, amountUnits: BigInt(amount) });
  }
  engine.assertInvariants();
  return engine;
}

/** sha256 over the canonical state (books, balances, counters). Deterministic; not for the hot path. */
export function stateHash(engine: MatchingEngine): string {
  const { config: _config, ...state } = exportState(engine);
  return createHash('sha256').update(JSON.stringify(state)).digest('hex');
}
