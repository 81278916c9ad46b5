/**
 * The matching-core protocol: commands in, results and events out.
 *
 * These types cross the process (or worker-thread) boundary between the matching core and the rest
 * of the exchange, so they live here beside the error registry. Units are always in the name:
 * `priceTicks`, `quantityLots`, `…Units` (asset base units as bigint: satoshi, wei, micro-USDT).
 *
 * Identifiers (`userId`, `assetId`, `marketId`, `withdrawalId`) are non-negative safe integers
 * chosen by the caller; the sequencer stamps every command with `seq` (contiguous, starting at 1)
 * and `timeMs`. An order's id IS the `seq` of the PlaceOrder command that created it, so ids are
 * unique, increasing and assigned outside the engine.
 */
import type { ErrorCode } from './errors.ts';

// ---------------------------------------------------------------------------------------------
// Enumerations (names equal the GraphQL enum values of CONTRACT.md).

export const Side = { BUY: 'BUY', SELL: 'SELL' } as const;
export type Side = (typeof Side)[keyof typeof Side];

export const OrderType = {
  LIMIT: 'LIMIT',
  MARKET: 'MARKET',
  STOP_LIMIT: 'STOP_LIMIT',
  STOP_MARKET: 'STOP_MARKET',
} as const;
export type OrderType = (typeof OrderType)[keyof typeof OrderType];

export const TimeInForce = { GTC: 'GTC', IOC: 'IOC', FOK: 'FOK' } as const;
export type TimeInForce = (typeof TimeInForce)[keyof typeof TimeInForce];

export const SelfTradePrevention = {
  NONE: 'NONE',
  EXPIRE_TAKER: 'EXPIRE_TAKER',
  EXPIRE_MAKER: 'EXPIRE_MAKER',
  EXPIRE_BOTH: 'EXPIRE_BOTH',
} as const;
export type SelfTradePrevention = (typeof SelfTradePrevention)[keyof typeof SelfTradePrevention];

export const OrderStatus = {
  OPEN: 'OPEN',
  PARTIALLY_FILLED: 'PARTIALLY_FILLED',
  FILLED: 'FILLED',
  CANCELLED: 'CANCELLED',
  REJECTED: 'REJECTED',
  EXPIRED: 'EXPIRED',
  PENDING_TRIGGER: 'PENDING_TRIGGER',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

/** Why an order left the book (OrderDone.reason). */
export const DoneReason = {
  FILLED: 'FILLED',
  CANCELLED: 'CANCELLED',
  /** IOC or MARKET remainder: nothing left to match at an acceptable price. */
  IOC_REMAINDER: 'IOC_REMAINDER',
  /** FOK could not be filled completely: nothing traded. */
  FOK_UNFILLED: 'FOK_UNFILLED',
  /** Self-trade prevention expired this order. */
  SELF_TRADE: 'SELF_TRADE',
  /** A market buy ran out of quote budget / available balance. */
  BUDGET_EXHAUSTED: 'BUDGET_EXHAUSTED',
} as const;
export type DoneReason = (typeof DoneReason)[keyof typeof DoneReason];

// ---------------------------------------------------------------------------------------------
// Commands

/** Registers an asset. `decimals` is the number of base units per whole unit as a power of ten. */
export interface AddAssetInput {
  readonly type: 'AddAsset';
  readonly assetId: number;
  readonly symbol: string;
  readonly decimals: number;
}

/**
 * Registers a market. Sizes are integers so the core never parses decimals:
 * - `tickSizeQuoteUnits`: one price tick, in quote base units per ONE WHOLE base unit
 *   (BTC-USDT tick 0.01 USDT → 10_000n micro-USDT).
 * - `lotSizeBaseUnits`: one lot in base base units (BTC-USDT lot 0.00001 BTC → 1_000n satoshi).
 * - `minNotionalQuoteUnits`: minimum price × quantity of a limit order, in quote base units.
 * - fee rates in parts per million (0.1 % → 1_000).
 */
export interface AddMarketInput {
  readonly type: 'AddMarket';
  readonly marketId: number;
  readonly symbol: string;
  readonly baseAssetId: number;
  readonly quoteAssetId: number;
  readonly tickSizeQuoteUnits: bigint;
  readonly lotSizeBaseUnits: bigint;
  readonly minNotionalQuoteUnits: bigint;
  readonly makerFeePpm: number;
  readonly takerFeePpm: number;
  /** Largest accepted price; at most 2^53 − 1. */
  readonly maxPriceTicks: number;
  /** Largest accepted order quantity; at most 2^53 − 1. */
  readonly maxQuantityLots: number;
}

export interface HaltMarketInput {
  readonly type: 'HaltMarket';
  readonly marketId: number;
}
export interface ResumeMarketInput {
  readonly type: 'ResumeMarket';
  readonly marketId: number;
}

/** Credits a confirmed deposit to `available`. */
export interface DepositInput {
  readonly type: 'Deposit';
  readonly userId: number;
  readonly assetId: number;
  readonly amountUnits: bigint;
}

/** Moves `amountUnits` from available to locked under `withdrawalId` (a withdrawal in flight). */
export interface WithdrawHoldInput {
  readonly type: 'WithdrawHold';
  readonly userId: number;
  readonly assetId: number;
  readonly withdrawalId: number;
  readonly amountUnits: bigint;
}
/** The withdrawal was sent on chain: its held amount leaves the exchange. */
export interface WithdrawSettleInput {
  readonly type: 'WithdrawSettle';
  readonly withdrawalId: number;
}
/** The withdrawal failed or was rejected: its held amount returns to available. */
export interface WithdrawReleaseInput {
  readonly type: 'WithdrawRelease';
  readonly withdrawalId: number;
}

/** Admin correction of `available` (positive credits, negative debits; never below zero). */
export interface AdminAdjustInput {
  readonly type: 'AdminAdjust';
  readonly userId: number;
  readonly assetId: number;
  readonly amountUnits: bigint;
}

/**
 * Places an order.
 * - LIMIT: `priceTicks` + `quantityLots`.
 * - MARKET: SELL by `quantityLots`; BUY by `quantityLots` (spends at most the available quote
 *   balance) or by `quoteBudgetUnits` (spends at most that budget). TIF IOC (default for market
 *   orders in the API) or FOK.
 * - STOP_LIMIT: `stopPriceTicks` + `priceTicks` + `quantityLots`.
 * - STOP_MARKET: `stopPriceTicks` + SELL `quantityLots` / BUY `quoteBudgetUnits` (a stop market
 *   buy must name its budget so the core can hold exactly what it may spend).
 */
export interface PlaceOrderInput {
  readonly type: 'PlaceOrder';
  readonly userId: number;
  readonly marketId: number;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly timeInForce: TimeInForce;
  readonly priceTicks: number | null;
  readonly stopPriceTicks: number | null;
  readonly quantityLots: number | null;
  readonly quoteBudgetUnits: bigint | null;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientOrderId: string | null;
}

export interface CancelOrderInput {
  readonly type: 'CancelOrder';
  readonly userId: number;
  readonly orderId: number;
}

/** Cancels every open order (including pending stops) of a user, optionally in one market. */
export interface CancelAllInput {
  readonly type: 'CancelAll';
  readonly userId: number;
  readonly marketId: number | null;
}

/**
 * Amends a resting limit order. `quantityLots` is the new TOTAL quantity (must exceed what is
 * already filled). Quantity down at the same price keeps queue priority; a price change or a
 * quantity increase re-queues (and may trade, as a taker, at the new price).
 */
export interface AmendOrderInput {
  readonly type: 'AmendOrder';
  readonly userId: number;
  readonly orderId: number;
  readonly priceTicks: number | null;
  readonly quantityLots: number | null;
}

export type CommandInput =
  | AddAssetInput
  | AddMarketInput
  | HaltMarketInput
  | ResumeMarketInput
  | DepositInput
  | WithdrawHoldInput
  | WithdrawSettleInput
  | WithdrawReleaseInput
  | AdminAdjustInput
  | PlaceOrderInput
  | CancelOrderInput
  | CancelAllInput
  | AmendOrderInput;

export type CommandType = CommandInput['type'];

/** What the sequencer adds: a contiguous sequence number and the time the command was accepted. */
export interface Stamp {
  readonly seq: number;
  readonly timeMs: number;
}
export type Stamped<T> = T & Stamp;
export type Command = Stamped<CommandInput>;

// ---------------------------------------------------------------------------------------------
// Result codes: a closed numeric set in ranges per subsystem; retired numbers are never reused.

export const ResultCode = {
  OK: 0,
  /** Same user, same clientOrderId, identical request: the original order id is returned. */
  OK_IDEMPOTENT_REPLAY: 1,

  // 100–199 command validation (the API edge should have refused these already)
  INVALID_COMMAND: 100,
  UNKNOWN_ASSET: 101,
  ASSET_EXISTS: 102,
  MARKET_EXISTS: 103,
  BELOW_MIN_NOTIONAL: 104,
  OUT_OF_SEQUENCE: 105,

  // 200–299 market state
  MARKET_NOT_FOUND: 200,
  MARKET_HALTED: 201,
  MARKET_STATE_UNCHANGED: 202,

  // 300–399 risk
  INSUFFICIENT_FUNDS: 300,
  USER_OPEN_ORDER_LIMIT: 301,
  MARKET_OPEN_ORDER_LIMIT: 302,

  // 400–499 orders
  POST_ONLY_WOULD_TRADE: 400,
  DUPLICATE_CLIENT_ORDER_ID: 401,
  ORDER_NOT_OPEN: 402,
  ORDER_NOT_OWNED: 403,
  ORDER_NOT_AMENDABLE: 404,

  // 500–599 wallet operations
  WITHDRAWAL_NOT_FOUND: 500,
  WITHDRAWAL_EXISTS: 501,
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

/**
 * The one place where core result codes become API error codes (`null` = success).
 * Every subgraph that turns a core result into a GraphQL error uses this table.
 */
export const resultCodeToErrorCode: { readonly [K in ResultCode]: ErrorCode | null } = {
  [ResultCode.OK]: null,
  [ResultCode.OK_IDEMPOTENT_REPLAY]: null,
  [ResultCode.INVALID_COMMAND]: 'BAD_USER_INPUT',
  [ResultCode.UNKNOWN_ASSET]: 'BAD_USER_INPUT',
  [ResultCode.ASSET_EXISTS]: 'ALREADY_EXISTS',
  [ResultCode.MARKET_EXISTS]: 'ALREADY_EXISTS',
  [ResultCode.BELOW_MIN_NOTIONAL]: 'MIN_NOTIONAL',
  [ResultCode.OUT_OF_SEQUENCE]: 'INTERNAL_SERVER_ERROR',
  [ResultCode.MARKET_NOT_FOUND]: 'MARKET_NOT_FOUND',
  [ResultCode.MARKET_HALTED]: 'MARKET_HALTED',
  [ResultCode.MARKET_STATE_UNCHANGED]: 'INVALID_STATE_TRANSITION',
  [ResultCode.INSUFFICIENT_FUNDS]: 'INSUFFICIENT_FUNDS',
  [ResultCode.USER_OPEN_ORDER_LIMIT]: 'LIMIT_EXCEEDED',
  [ResultCode.MARKET_OPEN_ORDER_LIMIT]: 'LIMIT_EXCEEDED',
  [ResultCode.POST_ONLY_WOULD_TRADE]: 'POST_ONLY_WOULD_TRADE',
  [ResultCode.DUPLICATE_CLIENT_ORDER_ID]: 'DUPLICATE_CLIENT_ORDER_ID',
  [ResultCode.ORDER_NOT_OPEN]: 'ORDER_NOT_OPEN',
  // Someone else's order is indistinguishable from a missing one (no existence leak).
  [ResultCode.ORDER_NOT_OWNED]: 'NOT_FOUND',
  [ResultCode.ORDER_NOT_AMENDABLE]: 'BAD_USER_INPUT',
  [ResultCode.WITHDRAWAL_NOT_FOUND]: 'NOT_FOUND',
  [ResultCode.WITHDRAWAL_EXISTS]: 'ALREADY_EXISTS',
};

/** Name of a result code, for logs and messages. */
export function resultCodeName(code: ResultCode): keyof typeof ResultCode {
  for (const [name, value] of Object.entries(ResultCode)) {
    if (value === code) return name as keyof typeof ResultCode;
  }
  throw new Error(`unknown result code ${String(code)}`);
}

/**
 * What a command returns. Every result has the same shape (monomorphic on the hot path);
 * fields that do not apply are null.
 */
export interface CommandResult {
  readonly seq: number;
  readonly code: ResultCode;
  /** PlaceOrder: the new (or, for an idempotent replay, the original) order id; Cancel/Amend: the order. */
  readonly orderId: number | null;
  /** Order status after the command (null for an idempotent replay: read it from the projection). */
  readonly status: OrderStatus | null;
  readonly filledLots: number | null;
  readonly remainingLots: number | null;
}

// ---------------------------------------------------------------------------------------------
// Events. `eventSeq` is global and contiguous; `seq`/`timeMs` name the command that caused it.
// Book events also carry a per-market contiguous `bookSeq`.

interface EventBase {
  readonly eventSeq: number;
  readonly seq: number;
  readonly timeMs: number;
}

export interface AssetAddedEvent extends EventBase {
  readonly type: 'AssetAdded';
  readonly assetId: number;
  readonly symbol: string;
  readonly decimals: number;
}
export interface MarketAddedEvent extends EventBase {
  readonly type: 'MarketAdded';
  readonly market: Omit<AddMarketInput, 'type'>;
}
export interface MarketStatusChangedEvent extends EventBase {
  readonly type: 'MarketStatusChanged';
  readonly marketId: number;
  readonly halted: boolean;
}

/** A wallet or admin money movement (the ledger books it; BalanceChanged carries the totals). */
export interface FundsMovedEvent extends EventBase {
  readonly type: 'FundsMoved';
  readonly kind: 'DEPOSIT' | 'WITHDRAW_HOLD' | 'WITHDRAW_SETTLE' | 'WITHDRAW_RELEASE' | 'ADMIN_ADJUST';
  readonly userId: number;
  readonly assetId: number;
  /** Signed for ADMIN_ADJUST, positive otherwise. */
  readonly amountUnits: bigint;
  readonly withdrawalId: number | null;
}

export interface OrderAcceptedEvent extends EventBase {
  readonly type: 'OrderAccepted';
  readonly orderId: number;
  readonly userId: number;
  readonly marketId: number;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly timeInForce: TimeInForce;
  readonly priceTicks: number | null;
  readonly stopPriceTicks: number | null;
  readonly quantityLots: number | null;
  readonly quoteBudgetUnits: bigint | null;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientOrderId: string | null;
  /** OPEN or PENDING_TRIGGER. */
  readonly status: OrderStatus;
  /** What the core locked for this order at acceptance. */
  readonly holdUnits: bigint;
}

/** A core refusal: no order exists and no balance moved. */
export interface OrderRejectedEvent extends EventBase {
  readonly type: 'OrderRejected';
  readonly userId: number;
  readonly marketId: number;
  readonly clientOrderId: string | null;
  readonly code: ResultCode;
}

export interface OrderTriggeredEvent extends EventBase {
  readonly type: 'OrderTriggered';
  readonly orderId: number;
  readonly marketId: number;
  readonly lastTradePriceTicks: number;
}

export interface OrderAmendedEvent extends EventBase {
  readonly type: 'OrderAmended';
  readonly orderId: number;
  readonly marketId: number;
  readonly priceTicks: number;
  readonly quantityLots: number;
  readonly remainingLots: number;
  /** True when the order lost its queue position (price change or quantity increase). */
  readonly requeued: boolean;
}

export interface OrderDoneEvent extends EventBase {
  readonly type: 'OrderDone';
  readonly orderId: number;
  readonly userId: number;
  readonly marketId: number;
  /** FILLED, CANCELLED or EXPIRED. */
  readonly status: OrderStatus;
  readonly reason: DoneReason;
  readonly filledLots: number;
  readonly remainingLots: number;
}

export interface TradeEvent extends EventBase {
  readonly type: 'Trade';
  readonly tradeId: number;
  readonly marketId: number;
  readonly priceTicks: number;
  readonly quantityLots: number;
  readonly takerSide: Side;
  readonly makerOrderId: number;
  readonly makerUserId: number;
  readonly takerOrderId: number;
  readonly takerUserId: number;
  readonly baseUnits: bigint;
  /** What the buyer paid and the seller received before fees (floored, see money.ts). */
  readonly quoteUnits: bigint;
  /** Fees are charged in the asset each side receives (buyer: base, seller: quote). */
  readonly makerFeeUnits: bigint;
  readonly takerFeeUnits: bigint;
  readonly makerRemainingLots: number;
  readonly takerRemainingLots: number;
}

/** Totals of one user's balance in one asset after the command (one event per touched pair). */
export interface BalanceChangedEvent extends EventBase {
  readonly type: 'BalanceChanged';
  readonly userId: number;
  readonly assetId: number;
  readonly availableUnits: bigint;
  readonly lockedUnits: bigint;
}

/** A price level changed; `quantityLots` 0 means the level is gone. */
export interface BookLevelChangedEvent extends EventBase {
  readonly type: 'BookLevelChanged';
  readonly marketId: number;
  readonly bookSeq: number;
  readonly side: Side;
  readonly priceTicks: number;
  readonly quantityLots: number;
  readonly orderCount: number;
}

export type CoreEvent =
  | AssetAddedEvent
  | MarketAddedEvent
  | MarketStatusChangedEvent
  | FundsMovedEvent
  | OrderAcceptedEvent
  | OrderRejectedEvent
  | OrderTriggeredEvent
  | OrderAmendedEvent
  | OrderDoneEvent
  | TradeEvent
  | BalanceChangedEvent
  | BookLevelChangedEvent;

export type CoreEventType = CoreEvent['type'];
