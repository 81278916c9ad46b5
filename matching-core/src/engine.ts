/**
 * The matching engine: one deterministic, single-threaded state machine that owns every order book
 * and every trading balance (DESIGN.md rules 1, 2, 5). `execute(command)` is a pure function of the
 * current state and the command: no clock, no randomness, no I/O. Time, sequence numbers and order
 * ids come stamped on the command.
 *
 * Invariants asserted in code (a violation is a programmer error and throws `InvariantError`):
 * - after every command that touched a market its book is not crossed (best bid < best ask);
 * - balances never go negative; a fill never takes more than the order holds;
 * - `assertInvariants()` (every `invariantCheckInterval` commands, at every snapshot, and after
 *   every command in tests): per asset Σ users (available + locked) + fee revenue =
 *   Σ deposits − Σ withdrawals ± adjustments; per user and asset, locked = what the user's open
 *   orders can still spend + withdrawals in flight; every book aggregate equals its orders.
 */
import type {
  AddAssetInput,
  AddMarketInput,
  AdminAdjustInput,
  AmendOrderInput,
  CancelAllInput,
  CancelOrderInput,
  Command,
  CommandResult,
  CoreEvent,
  DepositInput,
  DoneReason,
  OrderStatus,
  PlaceOrderInput,
  ResultCode,
  Side,
  Stamp,
  WithdrawHoldInput,
  WithdrawReleaseInput,
  WithdrawSettleInput,
} from '@graphex/schema';
import { FastOrderBook } from './book/fast-book.ts';
import type { LevelView, OrderBook } from './book/order-book.ts';
import { ReferenceOrderBook } from './book/reference-book.ts';
import { MarketMath, feeUnits } from './money.ts';
import { BUY, Order, SELL, type SideIndex } from './order.ts';

/** Result codes as plain numbers (the `as const` object lives in @graphex/schema). */
const RC = {
  OK: 0,
  OK_IDEMPOTENT_REPLAY: 1,
  INVALID_COMMAND: 100,
  UNKNOWN_ASSET: 101,
  ASSET_EXISTS: 102,
  MARKET_EXISTS: 103,
  BELOW_MIN_NOTIONAL: 104,
  OUT_OF_SEQUENCE: 105,
  MARKET_NOT_FOUND: 200,
  MARKET_HALTED: 201,
  MARKET_STATE_UNCHANGED: 202,
  INSUFFICIENT_FUNDS: 300,
  USER_OPEN_ORDER_LIMIT: 301,
  MARKET_OPEN_ORDER_LIMIT: 302,
  POST_ONLY_WOULD_TRADE: 400,
  DUPLICATE_CLIENT_ORDER_ID: 401,
  ORDER_NOT_OPEN: 402,
  ORDER_NOT_OWNED: 403,
  ORDER_NOT_AMENDABLE: 404,
  WITHDRAWAL_NOT_FOUND: 500,
  WITHDRAWAL_EXISTS: 501,
} as const satisfies Record<string, ResultCode>;

const SIDE_NAME: readonly [Side, Side] = ['BUY', 'SELL'];
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Asset ids index dense per-user arrays, so they are bounded. */
export const MAX_ASSET_ID = 1023;

export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** Programmer-error assertion: crashes loudly (TIGER_STYLE). */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export interface EngineConfig {
  /** 'fast' (default) or the slow 'reference' book used by the differential test. */
  readonly book: 'fast' | 'reference';
  /** Open orders (resting + pending stops) per user across all markets. */
  readonly maxOpenOrdersPerUser: number;
  /** Open orders per market. */
  readonly maxOpenOrdersPerMarket: number;
  /**
   * clientOrderIds remembered per user for idempotency. The oldest is forgotten first (FIFO), so a
   * client may safely retry any of its last N placements.
   */
  readonly maxClientOrderIdsPerUser: number;
  /** Run the O(state) `assertInvariants()` every N commands (0 = never; default 100,000). */
  readonly invariantCheckInterval: number;
}

export const defaultEngineConfig: EngineConfig = {
  book: 'fast',
  maxOpenOrdersPerUser: 1_000,
  maxOpenOrdersPerMarket: 1_000_000,
  maxClientOrderIdsPerUser: 10_000,
  invariantCheckInterval: 100_000,
};

export interface ExecuteOutput {
  readonly result: CommandResult;
  readonly events: CoreEvent[];
}

export class AssetState {
  readonly assetId: number;
  readonly symbol: string;
  readonly decimals: number;
  feeRevenueUnits = 0n;
  depositedUnits = 0n;
  withdrawnUnits = 0n;
  /** Signed sum of admin adjustments. */
  adjustedUnits = 0n;
  constructor(assetId: number, symbol: string, decimals: number) {
    this.assetId = assetId;
    this.symbol = symbol;
    this.decimals = decimals;
  }
}

export class MarketState {
  readonly config: Omit<AddMarketInput, 'type'>;
  readonly marketId: number;
  readonly baseAssetId: number;
  readonly quoteAssetId: number;
  readonly math: MarketMath;
  readonly makerFeePpm: bigint;
  readonly takerFeePpm: bigint;
  readonly book: OrderBook;
  halted = false;
  bookSeq = 0;
  /** 0 until the first trade. */
  lastTradePriceTicks = 0;
  openOrders = 0;
  /** Pending stop orders in placement order (trigger order is placement order). */
  readonly stops: Order[] = [];
  constructor(config: Omit<AddMarketInput, 'type'>, baseDecimals: number, book: OrderBook) {
    this.config = config;
    this.marketId = config.marketId;
    this.baseAssetId = config.baseAssetId;
    this.quoteAssetId = config.quoteAssetId;
    this.math = new MarketMath(
      config.tickSizeQuoteUnits,
      config.lotSizeBaseUnits,
      baseDecimals,
      config.minNotionalQuoteUnits,
    );
    this.makerFeePpm = BigInt(config.makerFeePpm);
    this.takerFeePpm = BigInt(config.takerFeePpm);
    this.book = book;
  }
}

export interface ClientOrderEntry {
  readonly orderId: number;
  readonly fingerprint: string;
}

export class UserState {
  readonly userId: number;
  readonly availableUnits: bigint[] = [];
  readonly lockedUnits: bigint[] = [];
  /** Command seq that last touched (user, asset): drives one BalanceChanged per pair per command. */
  readonly touchedSeq: number[] = [];
  openOrders = 0;
  /** Open orders in placement order (CancelAll order): an intrusive list through Order.userPrev/userNext. */
  firstOrder: Order | null = null;
  lastOrder: Order | null = null;
  clientOrders: Map<string, ClientOrderEntry> | null = null;
  constructor(userId: number) {
    this.userId = userId;
  }

  /**
   * Grows the per-asset arrays to `slots` entries, filled in index order so V8 keeps them packed
   * (asset ids start at 1: sparse writes would make every balance access a holey-array access).
   */
  ensureSlots(slots: number): void {
    while (this.availableUnits.length < slots) {
      this.availableUnits.push(0n);
      this.lockedUnits.push(0n);
      this.touchedSeq.push(0);
    }
  }

  linkOrder(order: Order): void {
    order.userNext = null;
    order.userPrev = this.lastOrder;
    if (this.lastOrder === null) this.firstOrder = order;
    else this.lastOrder.userNext = order;
    this.lastOrder = order;
  }

  unlinkOrder(order: Order): void {
    if (order.userPrev === null) this.firstOrder = order.userNext;
    else order.userPrev.userNext = order.userNext;
    if (order.userNext === null) this.lastOrder = order.userPrev;
    else order.userNext.userPrev = order.userPrev;
    order.userPrev = null;
    order.userNext = null;
  }

  /** Open orders in placement order (a copy: safe to cancel while iterating). */
  openOrderList(): Order[] {
    const out: Order[] = [];
    for (let o = this.firstOrder; o !== null; o = o.userNext) out.push(o);
    return out;
  }
}

export interface WithdrawalHold {
  readonly withdrawalId: number;
  readonly userId: number;
  readonly assetId: number;
  readonly amountUnits: bigint;
}

function isSafeId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
function isPositiveInt(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= max;
}

function fingerprintOf(c: PlaceOrderInput): string {
  return [
    c.marketId,
    c.side,
    c.orderType,
    c.timeInForce,
    c.priceTicks,
    c.stopPriceTicks,
    c.quantityLots,
    c.quoteBudgetUnits,
    c.postOnly,
    c.selfTradePrevention,
  ].join('|');
}

export class MatchingEngine {
  readonly config: EngineConfig;
  readonly assets = new Map<number, AssetState>();
  readonly markets = new Map<number, MarketState>();
  readonly users = new Map<number, UserState>();
  readonly orders = new Map<number, Order>();
  readonly withdrawals = new Map<number, WithdrawalHold>();
  lastSeq = 0;
  lastTimeMs = 0;
  eventSeq = 0;
  tradeSeq = 0;
  queueSeq = 0;

  // Per-command scratch state.
  #events: CoreEvent[] = [];
  #seq = 0;
  #timeMs = 0;
  // Touched (user, asset) pairs of the current command; a count instead of truncating arrays
  // (setting .length = 0 on every command showed up in profiles).
  readonly #touchedUsers: UserState[] = [];
  readonly #touchedAssets: number[] = [];
  #touchedCount = 0;

  constructor(config: Partial<EngineConfig> = {}) {
    this.config = { ...defaultEngineConfig, ...config };
  }

  newBook(): OrderBook {
    return this.config.book === 'reference' ? new ReferenceOrderBook() : new FastOrderBook();
  }

  /** Applies one sequenced command. Never throws for a refusal; throws only on a broken invariant. */
  execute(command: Command): ExecuteOutput {
    if (command.seq !== this.lastSeq + 1) {
      return { result: this.#result(command.seq, RC.OUT_OF_SEQUENCE, null), events: [] };
    }
    const events: CoreEvent[] = [];
    this.#events = events;
    this.#seq = command.seq;
    this.#timeMs = command.timeMs;
    let result: CommandResult;
    switch (command.type) {
      case 'PlaceOrder':
        result = this.#placeOrder(command);
        break;
      case 'AmendOrder':
        result = this.#amendOrder(command);
        break;
      case 'CancelOrder':
        result = this.#cancelOrder(command);
        break;
      case 'CancelAll':
        result = this.#cancelAll(command);
        break;
      case 'Deposit':
        result = this.#deposit(command);
        break;
      case 'WithdrawHold':
        result = this.#withdrawHold(command);
        break;
      case 'WithdrawSettle':
        result = this.#withdrawSettle(command);
        break;
      case 'WithdrawRelease':
        result = this.#withdrawRelease(command);
        break;
      case 'AdminAdjust':
        result = this.#adminAdjust(command);
        break;
      case 'AddAsset':
        result = this.#addAsset(command);
        break;
      case 'AddMarket':
        result = this.#addMarket(command);
        break;
      case 'HaltMarket':
      case 'ResumeMarket':
        result = this.#setHalted(command.marketId, command.type === 'HaltMarket');
        break;
      default:
        result = this.#result(this.#seq, RC.INVALID_COMMAND, null);
    }
    this.#flushBalanceEvents();
    this.lastSeq = command.seq;
    if (command.timeMs > this.lastTimeMs) this.lastTimeMs = command.timeMs;
    const interval = this.config.invariantCheckInterval;
    if (interval > 0 && command.seq % interval === 0) this.assertInvariants();
    return { result, events };
  }

  // -------------------------------------------------------------------------------------------
  // Events and results

  #stamp(): Stamp & { eventSeq: number } {
    return { eventSeq: ++this.eventSeq, seq: this.#seq, timeMs: this.#timeMs };
  }

  #result(
    seq: number,
    code: ResultCode,
    orderId: number | null,
    status: OrderStatus | null = null,
    filledLots: number | null = null,
    remainingLots: number | null = null,
  ): CommandResult {
    return { seq, code, orderId, status, filledLots, remainingLots };
  }

  #orderResult(order: Order): CommandResult {
    return {
      seq: this.#seq,
      code: RC.OK,
      orderId: order.id,
      status: order.status,
      filledLots: order.filledLots,
      remainingLots: order.remainingLots,
    };
  }

  #touch(user: UserState, assetId: number): void {
    if (user.touchedSeq[assetId] !== this.#seq) {
      user.touchedSeq[assetId] = this.#seq;
      const i = this.#touchedCount++;
      if (i === this.#touchedUsers.length) {
        this.#touchedUsers.push(user);
        this.#touchedAssets.push(assetId);
      } else {
        this.#touchedUsers[i] = user;
        this.#touchedAssets[i] = assetId;
      }
    }
  }

  #flushBalanceEvents(): void {
    const users = this.#touchedUsers;
    const assets = this.#touchedAssets;
    const count = this.#touchedCount;
    for (let i = 0; i < count; i += 1) {
      const user = users[i]!;
      const assetId = assets[i]!;
      this.#events.push({
        eventSeq: ++this.eventSeq,
        seq: this.#seq,
        timeMs: this.#timeMs,
        type: 'BalanceChanged',
        userId: user.userId,
        assetId,
        availableUnits: user.availableUnits[assetId]!,
        lockedUnits: user.lockedUnits[assetId]!,
      });
    }
    this.#touchedCount = 0;
  }

  #bookEvent(market: MarketState, side: SideIndex, priceTicks: number): void {
    this.#levelEvent(market, side, priceTicks, market.book.levelAt(side, priceTicks));
  }

  /** BookLevelChanged from a level the book just returned (no second lookup). */
  #levelEvent(market: MarketState, side: SideIndex, priceTicks: number, level: LevelView | null): void {
    this.#events.push({
      eventSeq: ++this.eventSeq,
      seq: this.#seq,
      timeMs: this.#timeMs,
      type: 'BookLevelChanged',
      marketId: market.marketId,
      bookSeq: ++market.bookSeq,
      side: SIDE_NAME[side],
      priceTicks,
      quantityLots: level === null ? 0 : level.quantityLots,
      orderCount: level === null ? 0 : level.orderCount,
    });
  }

  #doneEvent(order: Order, status: OrderStatus, reason: DoneReason): void {
    order.status = status;
    this.#events.push({
      eventSeq: ++this.eventSeq,
      seq: this.#seq,
      timeMs: this.#timeMs,
      type: 'OrderDone',
      orderId: order.id,
      userId: order.userId,
      marketId: order.marketId,
      status,
      reason,
      filledLots: order.filledLots,
      remainingLots: order.remainingLots,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Balances

  #user(userId: number): UserState {
    let user = this.users.get(userId);
    if (user === undefined) {
      user = new UserState(userId);
      user.ensureSlots(this.assetSlots);
      this.users.set(userId, user);
    }
    return user;
  }

  /** 1 + the largest asset id: the length of every user's per-asset arrays. */
  get assetSlots(): number {
    let slots = 0;
    for (const assetId of this.assets.keys()) if (assetId + 1 > slots) slots = assetId + 1;
    return slots;
  }

  #hold(user: UserState, assetId: number, amountUnits: bigint): void {
    const available = user.availableUnits[assetId]!;
    assert(available >= amountUnits && amountUnits >= 0n, 'hold exceeds available');
    user.availableUnits[assetId] = available - amountUnits;
    user.lockedUnits[assetId]! += amountUnits;
    this.#touch(user, assetId);
  }

  #release(user: UserState, assetId: number, amountUnits: bigint): void {
    if (amountUnits === 0n) return;
    const locked = user.lockedUnits[assetId]!;
    assert(locked >= amountUnits && amountUnits > 0n, 'release exceeds locked');
    user.lockedUnits[assetId] = locked - amountUnits;
    user.availableUnits[assetId]! += amountUnits;
    this.#touch(user, assetId);
  }

  /** Releases an order's whole remaining hold (order leaves the book or never rests). */
  #releaseOrderHold(market: MarketState, order: Order): void {
    const hold = order.holdUnits;
    if (hold === 0n) return;
    order.holdUnits = 0n;
    this.#release(
      order.owner as UserState,
      order.side === BUY ? market.quoteAssetId : market.baseAssetId,
      hold,
    );
  }

  /** Exactly what a resting (or pending stop-limit) order can still spend. */
  #requiredHold(market: MarketState, order: Order): bigint {
    if (order.side === SELL) return market.math.baseUnits(order.remainingLots);
    if (order.orderType === 'STOP_MARKET') return order.quoteBudgetUnits!;
    return market.math.notionalCeil(order.priceTicks, order.remainingLots);
  }

  /** Brings a resting buy's hold back to exactly ceil(p·remaining), releasing the excess. */
  #normalizeBuyHold(market: MarketState, order: Order): void {
    const required = market.math.notionalCeil(order.priceTicks, order.remainingLots);
    const excess = order.holdUnits - required;
    assert(excess >= 0n, 'resting buy hold below requirement');
    if (excess > 0n) {
      order.holdUnits = required;
      this.#release(order.owner as UserState, market.quoteAssetId, excess);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Admin and wallet commands

  #addAsset(c: Stamp & AddAssetInput): CommandResult {
    if (!isSafeId(c.assetId) || c.assetId > MAX_ASSET_ID || typeof c.symbol !== 'string' || !c.symbol) {
      return this.#result(c.seq, RC.INVALID_COMMAND, null);
    }
    if (!Number.isInteger(c.decimals) || c.decimals < 0 || c.decimals > 30)
      return this.#result(c.seq, RC.INVALID_COMMAND, null);
    if (this.assets.has(c.assetId)) return this.#result(c.seq, RC.ASSET_EXISTS, null);
    this.assets.set(c.assetId, new AssetState(c.assetId, c.symbol, c.decimals));
    for (const user of this.users.values()) user.ensureSlots(c.assetId + 1);
    this.#events.push({
      ...this.#stamp(),
      type: 'AssetAdded',
      assetId: c.assetId,
      symbol: c.symbol,
      decimals: c.decimals,
    });
    return this.#result(c.seq, RC.OK, null);
  }

  #addMarket(c: Stamp & AddMarketInput): CommandResult {
    const base = this.assets.get(c.baseAssetId);
    const quote = this.assets.get(c.quoteAssetId);
    if (base === undefined || quote === undefined || base === quote)
      return this.#result(c.seq, RC.UNKNOWN_ASSET, null);
    const valid =
      isSafeId(c.marketId) &&
      typeof c.symbol === 'string' &&
      typeof c.tickSizeQuoteUnits === 'bigint' &&
      c.tickSizeQuoteUnits > 0n &&
      typeof c.lotSizeBaseUnits === 'bigint' &&
      c.lotSizeBaseUnits > 0n &&
      typeof c.minNotionalQuoteUnits === 'bigint' &&
      c.minNotionalQuoteUnits >= 0n &&
      Number.isInteger(c.makerFeePpm) &&
      c.makerFeePpm >= 0 &&
      c.makerFeePpm <= 1_000_000 &&
      Number.isInteger(c.takerFeePpm) &&
      c.takerFeePpm >= 0 &&
      c.takerFeePpm <= 1_000_000 &&
      isPositiveInt(c.maxPriceTicks, MAX_SAFE) &&
      isPositiveInt(c.maxQuantityLots, MAX_SAFE);
    if (!valid) return this.#result(c.seq, RC.INVALID_COMMAND, null);
    if (this.markets.has(c.marketId)) return this.#result(c.seq, RC.MARKET_EXISTS, null);
    const config: Omit<AddMarketInput, 'type'> = {
      marketId: c.marketId,
      symbol: c.symbol,
      baseAssetId: c.baseAssetId,
      quoteAssetId: c.quoteAssetId,
      tickSizeQuoteUnits: c.tickSizeQuoteUnits,
      lotSizeBaseUnits: c.lotSizeBaseUnits,
      minNotionalQuoteUnits: c.minNotionalQuoteUnits,
      makerFeePpm: c.makerFeePpm,
      takerFeePpm: c.takerFeePpm,
      maxPriceTicks: c.maxPriceTicks,
      maxQuantityLots: c.maxQuantityLots,
    };
    this.markets.set(c.marketId, new MarketState(config, base.decimals, this.newBook()));
    this.#events.push({ ...this.#stamp(), type: 'MarketAdded', market: config });
    return this.#result(c.seq, RC.OK, null);
  }

  #setHalted(marketId: number, halted: boolean): CommandResult {
    const market = this.markets.get(marketId);
    if (market === undefined) return this.#result(this.#seq, RC.MARKET_NOT_FOUND, null);
    if (market.halted === halted) return this.#result(this.#seq, RC.MARKET_STATE_UNCHANGED, null);
    market.halted = halted;
    this.#events.push({ ...this.#stamp(), type: 'MarketStatusChanged', marketId, halted });
    return this.#result(this.#seq, RC.OK, null);
  }

  #fundsMoved(
    kind: 'DEPOSIT' | 'WITHDRAW_HOLD' | 'WITHDRAW_SETTLE' | 'WITHDRAW_RELEASE' | 'ADMIN_ADJUST',
    userId: number,
    assetId: number,
    amountUnits: bigint,
    withdrawalId: number | null,
  ): void {
    this.#events.push({
      ...this.#stamp(),
      type: 'FundsMoved',
      kind,
      userId,
      assetId,
      amountUnits,
      withdrawalId,
    });
  }

  #deposit(c: Stamp & DepositInput): CommandResult {
    if (!isSafeId(c.userId) || typeof c.amountUnits !== 'bigint' || c.amountUnits <= 0n)
      return this.#result(c.seq, RC.INVALID_COMMAND, null);
    const asset = this.assets.get(c.assetId);
    if (asset === undefined) return this.#result(c.seq, RC.UNKNOWN_ASSET, null);
    const user = this.#user(c.userId);
    user.availableUnits[c.assetId]! += c.amountUnits;
    asset.depositedUnits += c.amountUnits;
    this.#touch(user, c.assetId);
    this.#fundsMoved('DEPOSIT', c.userId, c.assetId, c.amountUnits, null);
    return this.#result(c.seq, RC.OK, null);
  }

  #withdrawHold(c: Stamp & WithdrawHoldInput): CommandResult {
    if (
      !isSafeId(c.userId) ||
      !isSafeId(c.withdrawalId) ||
      typeof c.amountUnits !== 'bigint' ||
      c.amountUnits <= 0n
    ) {
      return this.#result(c.seq, RC.INVALID_COMMAND, null);
    }
    if (!this.assets.has(c.assetId)) return this.#result(c.seq, RC.UNKNOWN_ASSET, null);
    if (this.withdrawals.has(c.withdrawalId)) return this.#result(c.seq, RC.WITHDRAWAL_EXISTS, null);
    const user = this.#user(c.userId);
    if (user.availableUnits[c.assetId]! < c.amountUnits)
      return this.#result(c.seq, RC.INSUFFICIENT_FUNDS, null);
    this.#hold(user, c.assetId, c.amountUnits);
    this.withdrawals.set(c.withdrawalId, {
      withdrawalId: c.withdrawalId,
      userId: c.userId,
      assetId: c.assetId,
      amountUnits: c.amountUnits,
    });
    this.#fundsMoved('WITHDRAW_HOLD', c.userId, c.assetId, c.amountUnits, c.withdrawalId);
    return this.#result(c.seq, RC.OK, null);
  }

  #withdrawSettle(c: Stamp & WithdrawSettleInput): CommandResult {
    const hold = this.withdrawals.get(c.withdrawalId);
    if (hold === undefined) return this.#result(c.seq, RC.WITHDRAWAL_NOT_FOUND, null);
    this.withdrawals.delete(c.withdrawalId);
    const user = this.users.get(hold.userId)!;
    const locked = user.lockedUnits[hold.assetId]!;
    assert(locked >= hold.amountUnits, 'withdrawal hold exceeds locked');
    user.lockedUnits[hold.assetId] = locked - hold.amountUnits;
    this.assets.get(hold.assetId)!.withdrawnUnits += hold.amountUnits;
    this.#touch(user, hold.assetId);
    this.#fundsMoved('WITHDRAW_SETTLE', hold.userId, hold.assetId, hold.amountUnits, hold.withdrawalId);
    return this.#result(c.seq, RC.OK, null);
  }

  #withdrawRelease(c: Stamp & WithdrawReleaseInput): CommandResult {
    const hold = this.withdrawals.get(c.withdrawalId);
    if (hold === undefined) return this.#result(c.seq, RC.WITHDRAWAL_NOT_FOUND, null);
    this.withdrawals.delete(c.withdrawalId);
    this.#release(this.users.get(hold.userId)!, hold.assetId, hold.amountUnits);
    this.#fundsMoved('WITHDRAW_RELEASE', hold.userId, hold.assetId, hold.amountUnits, hold.withdrawalId);
    return this.#result(c.seq, RC.OK, null);
  }

  #adminAdjust(c: Stamp & AdminAdjustInput): CommandResult {
    if (!isSafeId(c.userId) || typeof c.amountUnits !== 'bigint' || c.amountUnits === 0n)
      return this.#result(c.seq, RC.INVALID_COMMAND, null);
    const asset = this.assets.get(c.assetId);
    if (asset === undefined) return this.#result(c.seq, RC.UNKNOWN_ASSET, null);
    const user = this.#user(c.userId);
    const available = user.availableUnits[c.assetId]!;
    if (available + c.amountUnits < 0n) return this.#result(c.seq, RC.INSUFFICIENT_FUNDS, null);
    user.availableUnits[c.assetId] = available + c.amountUnits;
    asset.adjustedUnits += c.amountUnits;
    this.#touch(user, c.assetId);
    this.#fundsMoved('ADMIN_ADJUST', c.userId, c.assetId, c.amountUnits, null);
    return this.#result(c.seq, RC.OK, null);
  }

  // -------------------------------------------------------------------------------------------
  // Orders

  #reject(c: Stamp & PlaceOrderInput, code: ResultCode): CommandResult {
    this.#events.push({
      eventSeq: ++this.eventSeq,
      seq: this.#seq,
      timeMs: this.#timeMs,
      type: 'OrderRejected',
      userId: c.userId,
      marketId: c.marketId,
      clientOrderId: c.clientOrderId ?? null,
      code,
    });
    return this.#result(c.seq, code, null);
  }

  /** Shape checks the API edge should already have made; the core still refuses bad input. */
  #validPlacement(c: PlaceOrderInput, market: MarketState): boolean {
    if (!isSafeId(c.userId)) return false;
    if (c.side !== 'BUY' && c.side !== 'SELL') return false;
    if (c.timeInForce !== 'GTC' && c.timeInForce !== 'IOC' && c.timeInForce !== 'FOK') return false;
    const stp = c.selfTradePrevention;
    if (stp !== 'NONE' && stp !== 'EXPIRE_TAKER' && stp !== 'EXPIRE_MAKER' && stp !== 'EXPIRE_BOTH')
      return false;
    if (
      c.clientOrderId !== null &&
      (typeof c.clientOrderId !== 'string' || c.clientOrderId.length === 0 || c.clientOrderId.length > 64)
    ) {
      return false;
    }
    const maxPrice = market.config.maxPriceTicks;
    const maxQty = market.config.maxQuantityLots;
    const hasQty = c.quantityLots !== null;
    const hasBudget = c.quoteBudgetUnits !== null;
    if (hasQty && !isPositiveInt(c.quantityLots, maxQty)) return false;
    if (hasBudget && (typeof c.quoteBudgetUnits !== 'bigint' || c.quoteBudgetUnits <= 0n)) return false;
    if (c.postOnly && (c.orderType !== 'LIMIT' || c.timeInForce !== 'GTC')) return false;
    switch (c.orderType) {
      case 'LIMIT':
        return isPositiveInt(c.priceTicks, maxPrice) && c.stopPriceTicks === null && hasQty && !hasBudget;
      case 'STOP_LIMIT':
        return (
          isPositiveInt(c.priceTicks, maxPrice) &&
          isPositiveInt(c.stopPriceTicks, maxPrice) &&
          hasQty &&
          !hasBudget
        );
      case 'MARKET':
        if (c.priceTicks !== null || c.stopPriceTicks !== null || c.timeInForce === 'GTC') return false;
        if (c.side === 'SELL') return hasQty && !hasBudget;
        return hasQty !== hasBudget && !(hasBudget && c.timeInForce === 'FOK');
      case 'STOP_MARKET':
        if (c.priceTicks !== null || !isPositiveInt(c.stopPriceTicks, maxPrice) || c.timeInForce === 'GTC')
          return false;
        if (c.timeInForce === 'FOK' && hasBudget) return false;
        return c.side === 'SELL' ? hasQty && !hasBudget : hasBudget && !hasQty;
      default:
        return false;
    }
  }

  #crosses(order: Order, makerPriceTicks: number): boolean {
    if (order.orderType === 'MARKET') return true;
    return order.side === BUY ? makerPriceTicks <= order.priceTicks : makerPriceTicks >= order.priceTicks;
  }

  #stopTriggered(order: Order, lastPriceTicks: number): boolean {
    if (lastPriceTicks === 0) return false;
    return order.side === BUY
      ? lastPriceTicks >= order.stopPriceTicks
      : lastPriceTicks <= order.stopPriceTicks;
  }

  #placeOrder(c: Stamp & PlaceOrderInput): CommandResult {
    const market = this.markets.get(c.marketId);
    if (market === undefined) return this.#reject(c, RC.MARKET_NOT_FOUND);
    // Idempotency first: a retry of an accepted placement answers with the original order even if
    // the market has been halted since (the original was valid, so an identical retry is too).
    const fingerprint = c.clientOrderId === null ? '' : fingerprintOf(c);
    if (c.clientOrderId !== null) {
      const known = this.users.get(c.userId)?.clientOrders?.get(c.clientOrderId);
      if (known !== undefined) {
        if (known.fingerprint === fingerprint)
          return this.#result(c.seq, RC.OK_IDEMPOTENT_REPLAY, known.orderId);
        return this.#reject(c, RC.DUPLICATE_CLIENT_ORDER_ID);
      }
    }
    if (market.halted) return this.#reject(c, RC.MARKET_HALTED);
    if (!this.#validPlacement(c, market)) return this.#reject(c, RC.INVALID_COMMAND);
    const user = this.#user(c.userId);

    const side: SideIndex = c.side === 'BUY' ? BUY : SELL;
    const isStop = c.orderType === 'STOP_LIMIT' || c.orderType === 'STOP_MARKET';
    const mayRest = isStop || (c.orderType === 'LIMIT' && c.timeInForce === 'GTC');
    if (mayRest) {
      if (user.openOrders >= this.config.maxOpenOrdersPerUser)
        return this.#reject(c, RC.USER_OPEN_ORDER_LIMIT);
      if (market.openOrders >= this.config.maxOpenOrdersPerMarket)
        return this.#reject(c, RC.MARKET_OPEN_ORDER_LIMIT);
    }
    const math = market.math;
    const priceTicks = c.priceTicks ?? 0;
    const quantityLots = c.quantityLots ?? 0;
    if (c.orderType === 'LIMIT' || c.orderType === 'STOP_LIMIT') {
      if (math.belowMinNotional(priceTicks, quantityLots)) return this.#reject(c, RC.BELOW_MIN_NOTIONAL);
    }
    if (c.postOnly) {
      const best = market.book.best(side === BUY ? SELL : BUY);
      if (best !== null && (side === BUY ? best.priceTicks <= priceTicks : best.priceTicks >= priceTicks)) {
        return this.#reject(c, RC.POST_ONLY_WOULD_TRADE);
      }
    }

    // What the order may spend, held up front.
    const holdAsset = side === BUY ? market.quoteAssetId : market.baseAssetId;
    const available = user.availableUnits[holdAsset]!;
    let holdUnits: bigint;
    if (side === SELL) holdUnits = math.baseUnits(quantityLots);
    else if (c.quoteBudgetUnits !== null) holdUnits = c.quoteBudgetUnits;
    else if (c.orderType === 'MARKET')
      holdUnits = available; // spends at most what is available
    else holdUnits = math.notionalCeil(priceTicks, quantityLots);
    if (holdUnits === 0n || available < holdUnits) return this.#reject(c, RC.INSUFFICIENT_FUNDS);

    const order = new Order(
      c.seq,
      c.userId,
      c.marketId,
      side,
      c.orderType,
      c.timeInForce,
      priceTicks,
      c.stopPriceTicks ?? 0,
      quantityLots,
      c.quoteBudgetUnits,
      c.postOnly,
      c.selfTradePrevention,
      c.clientOrderId,
    );
    if (c.clientOrderId !== null) this.#rememberClientOrderId(user, c.clientOrderId, order.id, fingerprint);
    order.owner = user;
    order.status = isStop ? 'PENDING_TRIGGER' : 'OPEN';
    this.#events.push({
      eventSeq: ++this.eventSeq,
      seq: this.#seq,
      timeMs: this.#timeMs,
      type: 'OrderAccepted',
      orderId: order.id,
      userId: order.userId,
      marketId: order.marketId,
      side: c.side,
      orderType: c.orderType,
      timeInForce: c.timeInForce,
      priceTicks: c.priceTicks,
      stopPriceTicks: c.stopPriceTicks,
      quantityLots: c.quantityLots,
      quoteBudgetUnits: c.quoteBudgetUnits,
      postOnly: c.postOnly,
      selfTradePrevention: c.selfTradePrevention,
      clientOrderId: c.clientOrderId,
      status: order.status,
      holdUnits,
    });

    // FOK is checked before any balance moves: an unfillable FOK expires untouched.
    if (!isStop && c.timeInForce === 'FOK' && !this.#fokFillable(market, order, holdUnits)) {
      this.#doneEvent(order, 'EXPIRED', 'FOK_UNFILLED');
      return this.#orderResult(order);
    }

    this.#hold(user, holdAsset, holdUnits);
    order.holdUnits = holdUnits;

    if (isStop) {
      if (this.#stopTriggered(order, market.lastTradePriceTicks)) {
        // Already past its stop: it triggers at once, as if the last trade had just happened.
        this.#trigger(market, order);
      } else {
        market.stops.push(order);
        this.#opened(market, user, order);
      }
    } else {
      this.#runTaker(market, order, false);
    }
    this.#processStops(market);
    this.#assertNotCrossed(market);
    return this.#orderResult(order);
  }

  #rememberClientOrderId(user: UserState, clientOrderId: string, orderId: number, fingerprint: string): void {
    let map = user.clientOrders;
    if (map === null) {
      map = new Map();
      user.clientOrders = map;
    }
    if (map.size >= this.config.maxClientOrderIdsPerUser) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
    }
    map.set(clientOrderId, { orderId, fingerprint });
  }

  #opened(market: MarketState, user: UserState, order: Order): void {
    market.openOrders += 1;
    user.openOrders += 1;
    user.linkOrder(order);
    this.orders.set(order.id, order);
  }

  #closed(market: MarketState, order: Order): void {
    const user = order.owner as UserState;
    market.openOrders -= 1;
    user.openOrders -= 1;
    user.unlinkOrder(order);
    this.orders.delete(order.id);
  }

  /** Can `order` fill completely right now (FOK)? Walks the book without changing it. */
  #fokFillable(market: MarketState, order: Order, budgetUnits: bigint): boolean {
    const book = market.book;
    const math = market.math;
    const marketBuy = order.orderType !== 'LIMIT' && order.orderType !== 'STOP_LIMIT' && order.side === BUY;
    let needLots = order.remainingLots;
    let budget = budgetUnits;
    for (let maker = book.best(order.side === BUY ? SELL : BUY); maker !== null; maker = book.next(maker)) {
      if (!this.#crosses(order, maker.priceTicks)) return false;
      if (maker.userId === order.userId && order.selfTradePrevention !== 'NONE') {
        if (order.selfTradePrevention === 'EXPIRE_MAKER') continue;
        return false;
      }
      const lots = Math.min(needLots, maker.remainingLots);
      if (marketBuy) {
        const affordable = math.affordableLots(budget, maker.priceTicks);
        if (affordable < lots) return false;
        budget -= math.notionalFloor(maker.priceTicks, lots);
      }
      needLots -= lots;
      if (needLots === 0) return true;
    }
    return false;
  }

  /**
   * Matches `order` as a taker, then rests (GTC limit) or expires the remainder. The order holds
   * its funds already; it is not in the book. `isOpen`: the order is already counted as open
   * (an amended order re-entering the book keeps its open-order slot and placement position).
   */
  #runTaker(market: MarketState, order: Order, isOpen: boolean): void {
    const book = market.book;
    const math = market.math;
    const takerSide = order.side;
    const makerSide: SideIndex = takerSide === BUY ? SELL : BUY;
    const isMarket = order.orderType === 'MARKET';
    const byBudget = isMarket && takerSide === BUY;
    const byQuote = order.quoteBudgetUnits !== null; // market buy by quote: no quantity cap
    if (
      order.timeInForce === 'FOK' &&
      order.filledLots === 0 &&
      !this.#fokFillable(market, order, order.holdUnits)
    ) {
      this.#releaseOrderHold(market, order);
      this.#doneEvent(order, 'EXPIRED', 'FOK_UNFILLED');
      return;
    }
    const filledBefore = order.filledLots;
    let stopReason: DoneReason | null = null;
    for (;;) {
      if (!byQuote && order.remainingLots === 0) break;
      const maker = book.best(makerSide);
      if (maker === null) break;
      if (
        !isMarket &&
        (takerSide === BUY ? maker.priceTicks > order.priceTicks : maker.priceTicks < order.priceTicks)
      )
        break;
      if (maker.userId === order.userId && order.selfTradePrevention !== 'NONE') {
        const stp = order.selfTradePrevention;
        if (stp === 'EXPIRE_MAKER' || stp === 'EXPIRE_BOTH') this.#expireMaker(market, maker);
        if (stp === 'EXPIRE_TAKER' || stp === 'EXPIRE_BOTH') {
          stopReason = 'SELF_TRADE';
          break;
        }
        continue;
      }
      let lots = byQuote ? maker.remainingLots : Math.min(order.remainingLots, maker.remainingLots);
      if (byBudget) {
        const affordable = math.affordableLots(order.holdUnits, maker.priceTicks);
        if (affordable < lots) lots = affordable;
        if (lots === 0) {
          stopReason = 'BUDGET_EXHAUSTED';
          break;
        }
      }
      this.#fill(market, order, maker, lots);
    }

    if (byQuote) {
      // A quote-budget market buy is done when it stopped for budget (FILLED) or ran out of book.
      this.#releaseOrderHold(market, order);
      if (stopReason === 'BUDGET_EXHAUSTED' && order.filledLots > 0)
        this.#doneEvent(order, 'FILLED', 'FILLED');
      else this.#doneEvent(order, 'EXPIRED', stopReason ?? 'IOC_REMAINDER');
      return;
    }
    if (order.remainingLots === 0) {
      if (isOpen) this.#closed(market, order);
      this.#releaseOrderHold(market, order); // price improvement and rounding leftovers
      this.#doneEvent(order, 'FILLED', 'FILLED');
      return;
    }
    if (stopReason === null && order.orderType !== 'MARKET' && order.timeInForce === 'GTC') {
      order.queueSeq = ++this.queueSeq;
      order.status = order.filledLots > 0 ? 'PARTIALLY_FILLED' : 'OPEN';
      const level = book.add(order);
      if (!isOpen) this.#opened(market, order.owner as UserState, order);
      if (order.filledLots !== filledBefore) {
        // Fills at better prices leave excess hold: bring it back to exactly what remains.
        if (order.side === BUY) this.#normalizeBuyHold(market, order);
        else assert(order.holdUnits === math.baseUnits(order.remainingLots), 'resting sell hold mismatch');
      }
      this.#levelEvent(market, order.side, order.priceTicks, level);
      return;
    }
    if (isOpen) this.#closed(market, order);
    this.#releaseOrderHold(market, order);
    this.#doneEvent(order, 'EXPIRED', stopReason ?? 'IOC_REMAINDER');
  }

  #expireMaker(market: MarketState, maker: Order): void {
    const level = market.book.remove(maker);
    this.#closed(market, maker);
    this.#releaseOrderHold(market, maker);
    this.#levelEvent(market, maker.side, maker.priceTicks, level);
    this.#doneEvent(maker, 'EXPIRED', 'SELF_TRADE');
  }

  /** One trade of `lots` at the maker's price; settles both sides and the fees. */
  #fill(market: MarketState, taker: Order, maker: Order, lots: number): void {
    const math = market.math;
    const priceTicks = maker.priceTicks;
    const quoteUnits = math.notionalFloor(priceTicks, lots);
    const baseUnits = math.baseUnits(lots);
    const takerIsBuyer = taker.side === BUY;
    const buyer = takerIsBuyer ? taker : maker;
    const seller = takerIsBuyer ? maker : taker;
    const buyerUser = buyer.owner as UserState;
    const sellerUser = seller.owner as UserState;
    const baseAssetId = market.baseAssetId;
    const quoteAssetId = market.quoteAssetId;
    const buyerFee = feeUnits(baseUnits, takerIsBuyer ? market.takerFeePpm : market.makerFeePpm);
    const sellerFee = feeUnits(quoteUnits, takerIsBuyer ? market.makerFeePpm : market.takerFeePpm);

    // Buyer: pays quote out of its order hold, receives base minus fee.
    assert(buyer.holdUnits >= quoteUnits, 'buy fill exceeds hold');
    buyer.holdUnits -= quoteUnits;
    const buyerLocked = buyerUser.lockedUnits[quoteAssetId]!;
    assert(buyerLocked >= quoteUnits, 'buy fill exceeds locked');
    buyerUser.lockedUnits[quoteAssetId] = buyerLocked - quoteUnits;
    buyerUser.availableUnits[baseAssetId]! += baseUnits - buyerFee;
    // Seller: delivers base out of its order hold, receives quote minus fee.
    assert(seller.holdUnits >= baseUnits, 'sell fill exceeds hold');
    seller.holdUnits -= baseUnits;
    const sellerLocked = sellerUser.lockedUnits[baseAssetId]!;
    assert(sellerLocked >= baseUnits, 'sell fill exceeds locked');
    sellerUser.lockedUnits[baseAssetId] = sellerLocked - baseUnits;
    sellerUser.availableUnits[quoteAssetId]! += quoteUnits - sellerFee;
    this.assets.get(baseAssetId)!.feeRevenueUnits += buyerFee;
    this.assets.get(quoteAssetId)!.feeRevenueUnits += sellerFee;
    this.#touch(buyerUser, quoteAssetId);
    this.#touch(buyerUser, baseAssetId);
    this.#touch(sellerUser, baseAssetId);
    this.#touch(sellerUser, quoteAssetId);

    taker.filledLots += lots;
    if (taker.quoteBudgetUnits === null) taker.remainingLots -= lots;
    maker.filledLots += lots;
    maker.remainingLots -= lots;
    market.book.reduce(maker, lots);
    market.lastTradePriceTicks = priceTicks;

    this.#events.push({
      eventSeq: ++this.eventSeq,
      seq: this.#seq,
      timeMs: this.#timeMs,
      type: 'Trade',
      tradeId: ++this.tradeSeq,
      marketId: market.marketId,
      priceTicks,
      quantityLots: lots,
      takerSide: SIDE_NAME[taker.side],
      makerOrderId: maker.id,
      makerUserId: maker.userId,
      takerOrderId: taker.id,
      takerUserId: taker.userId,
      baseUnits,
      quoteUnits,
      makerFeeUnits: takerIsBuyer ? sellerFee : buyerFee,
      takerFeeUnits: takerIsBuyer ? buyerFee : sellerFee,
      makerRemainingLots: maker.remainingLots,
      takerRemainingLots: taker.remainingLots,
    });

    if (maker.remainingLots === 0) {
      const level = market.book.remove(maker);
      this.#closed(market, maker);
      this.#releaseOrderHold(market, maker);
      this.#levelEvent(market, maker.side, priceTicks, level);
      this.#doneEvent(maker, 'FILLED', 'FILLED');
    } else {
      maker.status = 'PARTIALLY_FILLED';
      if (maker.side === BUY) this.#normalizeBuyHold(market, maker);
      this.#bookEvent(market, maker.side, priceTicks);
    }
  }

  /** A pending stop becomes live and runs as a taker. */
  #trigger(market: MarketState, order: Order): void {
    order.orderType = order.orderType === 'STOP_LIMIT' ? 'LIMIT' : 'MARKET';
    order.status = 'OPEN';
    this.#events.push({
      eventSeq: ++this.eventSeq,
      seq: this.#seq,
      timeMs: this.#timeMs,
      type: 'OrderTriggered',
      orderId: order.id,
      marketId: market.marketId,
      lastTradePriceTicks: market.lastTradePriceTicks,
    });
    this.#runTaker(market, order, false);
  }

  /** Triggers every pending stop the last trade price has crossed, in placement order, until none. */
  #processStops(market: MarketState): void {
    const stops = market.stops;
    if (stops.length === 0 || market.lastTradePriceTicks === 0) return;
    for (;;) {
      let index = -1;
      for (let i = 0; i < stops.length; i += 1) {
        if (this.#stopTriggered(stops[i]!, market.lastTradePriceTicks)) {
          index = i;
          break;
        }
      }
      if (index < 0) return;
      const order = stops[index]!;
      stops.splice(index, 1);
      this.#closed(market, order);
      this.#trigger(market, order);
    }
  }

  #assertNotCrossed(market: MarketState): void {
    const bid = market.book.best(BUY);
    const ask = market.book.best(SELL);
    assert(bid === null || ask === null || bid.priceTicks < ask.priceTicks, 'book crossed after command');
  }

  #ownedOpenOrder(userId: number, orderId: number): Order | ResultCode {
    const order = this.orders.get(orderId);
    if (order === undefined) return RC.ORDER_NOT_OPEN;
    if (order.userId !== userId) return RC.ORDER_NOT_OWNED;
    return order;
  }

  /** Removes an open order (resting or pending stop) and releases its hold. */
  #cancel(market: MarketState, order: Order): void {
    if (order.status === 'PENDING_TRIGGER') {
      const index = market.stops.indexOf(order);
      assert(index >= 0, 'pending stop not in stop list');
      market.stops.splice(index, 1);
      this.#closed(market, order);
      this.#releaseOrderHold(market, order);
    } else {
      const level = market.book.remove(order);
      this.#closed(market, order);
      this.#releaseOrderHold(market, order);
      this.#levelEvent(market, order.side, order.priceTicks, level);
    }
    this.#doneEvent(order, 'CANCELLED', 'CANCELLED');
  }

  #cancelOrder(c: Stamp & CancelOrderInput): CommandResult {
    const found = this.#ownedOpenOrder(c.userId, c.orderId);
    if (typeof found === 'number') return this.#result(c.seq, found, c.orderId);
    this.#cancel(this.markets.get(found.marketId)!, found);
    return this.#orderResult(found);
  }

  #cancelAll(c: Stamp & CancelAllInput): CommandResult {
    const user = this.users.get(c.userId);
    if (c.marketId !== null && !this.markets.has(c.marketId))
      return this.#result(c.seq, RC.MARKET_NOT_FOUND, null);
    if (user === undefined) return this.#result(c.seq, RC.OK, null);
    for (const order of user.openOrderList()) {
      if (c.marketId === null || order.marketId === c.marketId)
        this.#cancel(this.markets.get(order.marketId)!, order);
    }
    return this.#result(c.seq, RC.OK, null);
  }

  #amendOrder(c: Stamp & AmendOrderInput): CommandResult {
    const found = this.#ownedOpenOrder(c.userId, c.orderId);
    if (typeof found === 'number') return this.#result(c.seq, found, c.orderId);
    const order = found;
    const market = this.markets.get(order.marketId)!;
    if (market.halted) return this.#result(c.seq, RC.MARKET_HALTED, order.id);
    if (order.orderType !== 'LIMIT' || order.status === 'PENDING_TRIGGER')
      return this.#result(c.seq, RC.ORDER_NOT_AMENDABLE, order.id);
    const newPrice = c.priceTicks ?? order.priceTicks;
    const newQuantity = c.quantityLots ?? order.quantityLots;
    if (
      !isPositiveInt(newPrice, market.config.maxPriceTicks) ||
      !isPositiveInt(newQuantity, market.config.maxQuantityLots)
    ) {
      return this.#result(c.seq, RC.INVALID_COMMAND, order.id);
    }
    if (newQuantity <= order.filledLots) return this.#result(c.seq, RC.INVALID_COMMAND, order.id);
    const newRemaining = newQuantity - order.filledLots;
    const math = market.math;
    const user = order.owner as UserState;
    const holdAsset = order.side === BUY ? market.quoteAssetId : market.baseAssetId;

    if (newPrice === order.priceTicks && newRemaining <= order.remainingLots) {
      // Quantity down (or unchanged) at the same price: keeps queue priority.
      const reduceBy = order.remainingLots - newRemaining;
      if (reduceBy > 0) {
        order.remainingLots = newRemaining;
        order.quantityLots = newQuantity;
        market.book.reduce(order, reduceBy);
        const required =
          order.side === BUY ? math.notionalCeil(newPrice, newRemaining) : math.baseUnits(newRemaining);
        const excess = order.holdUnits - required;
        order.holdUnits = required;
        this.#release(user, holdAsset, excess);
        this.#amendedEvent(market, order, false);
        this.#bookEvent(market, order.side, order.priceTicks);
      }
      return this.#orderResult(order);
    }

    // Price change or quantity up: loses priority, may trade at the new price.
    if (newQuantity < order.filledLots + 1) return this.#result(c.seq, RC.INVALID_COMMAND, order.id);
    if (math.belowMinNotional(newPrice, newRemaining))
      return this.#result(c.seq, RC.BELOW_MIN_NOTIONAL, order.id);
    if (order.postOnly) {
      const best = market.book.best(order.side === BUY ? SELL : BUY);
      if (best !== null && (order.side === BUY ? best.priceTicks <= newPrice : best.priceTicks >= newPrice)) {
        return this.#result(c.seq, RC.POST_ONLY_WOULD_TRADE, order.id);
      }
    }
    // A sell that keeps its quantity keeps its hold (base units do not depend on the price).
    const holdUnchanged = order.side === SELL && newRemaining === order.remainingLots;
    const required = holdUnchanged
      ? order.holdUnits
      : order.side === BUY
        ? math.notionalCeil(newPrice, newRemaining)
        : math.baseUnits(newRemaining);
    const delta = holdUnchanged ? 0n : required - order.holdUnits;
    if (delta > 0n && user.availableUnits[holdAsset]! < delta)
      return this.#result(c.seq, RC.INSUFFICIENT_FUNDS, order.id);

    const oldPrice = order.priceTicks;
    const oldLevel = market.book.remove(order);
    this.#levelEvent(market, order.side, oldPrice, oldLevel);
    if (delta > 0n) this.#hold(user, holdAsset, delta);
    else if (delta < 0n) this.#release(user, holdAsset, -delta);
    order.holdUnits = required;
    order.priceTicks = newPrice;
    order.quantityLots = newQuantity;
    order.remainingLots = newRemaining;
    this.#amendedEvent(market, order, true);
    this.#runTaker(market, order, true);
    this.#processStops(market);
    this.#assertNotCrossed(market);
    return this.#orderResult(order);
  }

  #amendedEvent(market: MarketState, order: Order, requeued: boolean): void {
    this.#events.push({
      eventSeq: ++this.eventSeq,
      seq: this.#seq,
      timeMs: this.#timeMs,
      type: 'OrderAmended',
      orderId: order.id,
      marketId: market.marketId,
      priceTicks: order.priceTicks,
      quantityLots: order.quantityLots,
      remainingLots: order.remainingLots,
      requeued,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Invariants

  /** O(state) check of conservation, holds and book aggregates. Throws InvariantError. */
  assertInvariants(): void {
    for (const asset of this.assets.values()) {
      let total = asset.feeRevenueUnits;
      for (const user of this.users.values()) {
        const available = user.availableUnits[asset.assetId]!;
        const locked = user.lockedUnits[asset.assetId]!;
        assert(
          available >= 0n && locked >= 0n,
          `negative balance user ${user.userId} asset ${asset.assetId}`,
        );
        total += available + locked;
      }
      const expected = asset.depositedUnits - asset.withdrawnUnits + asset.adjustedUnits;
      assert(total === expected, `conservation broken for asset ${asset.symbol}: ${total} != ${expected}`);
    }
    // locked = open orders' holds + withdrawals in flight
    const expectedLocked = new Map<UserState, bigint[]>();
    const lockedOf = (user: UserState): bigint[] => {
      let row = expectedLocked.get(user);
      if (row === undefined) {
        row = [];
        for (const assetId of this.assets.keys()) row[assetId] = 0n;
        expectedLocked.set(user, row);
      }
      return row;
    };
    for (const hold of this.withdrawals.values())
      lockedOf(this.users.get(hold.userId)!)[hold.assetId]! += hold.amountUnits;
    let openCount = 0;
    for (const market of this.markets.values()) {
      let marketOpen = 0;
      for (const side of [BUY, SELL] as const) {
        const levelTotals = new Map<number, number>();
        let previous: Order | null = null;
        for (const order of market.book.orders(side)) {
          assert(order.remainingLots > 0, 'resting order with nothing remaining');
          assert(this.orders.get(order.id) === order, 'resting order not indexed');
          assert(order.owner === this.users.get(order.userId), 'order owner link broken');
          if (previous !== null) {
            const better =
              side === BUY ? previous.priceTicks > order.priceTicks : previous.priceTicks < order.priceTicks;
            assert(
              better || (previous.priceTicks === order.priceTicks && previous.queueSeq < order.queueSeq),
              'book priority broken',
            );
          }
          previous = order;
          levelTotals.set(order.priceTicks, (levelTotals.get(order.priceTicks) ?? 0) + order.remainingLots);
          assert(
            order.holdUnits === this.#requiredHold(market, order),
            `order ${order.id} hold != what it can spend`,
          );
          lockedOf(this.users.get(order.userId)!)[side === BUY ? market.quoteAssetId : market.baseAssetId]! +=
            order.holdUnits;
          marketOpen += 1;
        }
        for (const [price, lots] of levelTotals)
          assert(market.book.levelQuantity(side, price) === lots, 'level aggregate mismatch');
        assert(
          market.book.levels(side, Number.MAX_SAFE_INTEGER).length === levelTotals.size,
          'level count mismatch',
        );
      }
      for (const stop of market.stops) {
        assert(stop.status === 'PENDING_TRIGGER', 'stop list holds a live order');
        assert(stop.holdUnits === this.#requiredHold(market, stop), `stop ${stop.id} hold mismatch`);
        lockedOf(this.users.get(stop.userId)!)[
          stop.side === BUY ? market.quoteAssetId : market.baseAssetId
        ]! += stop.holdUnits;
        marketOpen += 1;
      }
      assert(market.openOrders === marketOpen, 'market open-order count mismatch');
      openCount += marketOpen;
      this.#assertNotCrossed(market);
    }
    assert(this.orders.size === openCount, 'open order index mismatch');
    for (const user of this.users.values()) {
      const row = expectedLocked.get(user);
      let userOpen = 0;
      for (const order of user.openOrderList()) {
        assert(this.orders.get(order.id) === order, 'user order not open');
        userOpen += 1;
      }
      assert(user.openOrders === userOpen, 'user open-order count mismatch');
      for (const assetId of this.assets.keys()) {
        const want = row?.[assetId] ?? 0n;
        assert(
          user.lockedUnits[assetId] === want,
          `user ${user.userId} asset ${assetId} locked ${user.lockedUnits[assetId]} != holds ${want}`,
        );
      }
    }
  }
}

/** Creates an engine. */
export function createEngine(config: Partial<EngineConfig> = {}): MatchingEngine {
  return new MatchingEngine(config);
}
