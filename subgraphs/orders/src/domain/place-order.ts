/**
 * `placeOrder` input → the core's PlaceOrder command, or the API refusal (CONTRACT.md "Order
 * outcomes"): input that can never be valid never reaches the core.
 *
 * - malformed, negative, zero, more decimals than the asset, out of range, missing or extra
 *   fields for the order type → BAD_USER_INPUT (with `field`);
 * - price or stop price off the tick → INVALID_TICK_SIZE; quantity off the lot → INVALID_LOT_SIZE;
 * - limit notional (or a market buy's quote budget) below the market's minimum → MIN_NOTIONAL.
 *
 * Market orders never rest: a MARKET / STOP_MARKET order asked for with the default GTC runs as IOC.
 */
import type { CoreCommand, ErrorCode } from '@graphex/schema';
import { notionalQuoteUnits, type MarketSpec } from './market.ts';
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from './order.ts';

export type PlaceOrderCommand = Extract<CoreCommand, { type: 'PlaceOrder' }>;

export interface PlaceOrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly price?: string | null | undefined;
  readonly stopPrice?: string | null | undefined;
  readonly quantity?: string | null | undefined;
  readonly quoteQuantity?: string | null | undefined;
  readonly timeInForce?: TimeInForce | null | undefined;
  readonly postOnly?: boolean | null | undefined;
  readonly clientOrderId?: string | null | undefined;
  readonly selfTradePrevention?: SelfTradePrevention | null | undefined;
}

export type PlaceOrderField =
  | 'symbol'
  | 'price'
  | 'stopPrice'
  | 'quantity'
  | 'quoteQuantity'
  | 'timeInForce'
  | 'postOnly'
  | 'clientOrderId';

export type PlaceOrderPlan =
  | { readonly ok: true; readonly command: PlaceOrderCommand }
  | {
      readonly ok: false;
      readonly code: ErrorCode;
      readonly field: PlaceOrderField;
      readonly message: string;
    };

/** Letters, digits and `._:/-`, 1..64 characters (what bots use for their own order ids). */
export const clientOrderIdPattern = /^[A-Za-z0-9._:/-]{1,64}$/;
const decimalPattern = /^(\d{1,40})(?:\.(\d{1,40}))?$/;

type Parsed = { readonly ok: true; readonly units: bigint } | Extract<PlaceOrderPlan, { ok: false }>;

const refuse = (code: ErrorCode, field: PlaceOrderField, message: string) =>
  ({ ok: false, code, field, message }) as const;

/** A positive decimal with at most `decimals` places, in units of 10^-decimals. */
function parsePositive(text: string, decimals: number, field: PlaceOrderField, currency: string): Parsed {
  if (text.startsWith('-')) return refuse('BAD_USER_INPUT', field, `${field} must be positive.`);
  const match = decimalPattern.exec(text);
  if (!match) return refuse('BAD_USER_INPUT', field, `${field} must be a decimal string like "12.5".`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals)
    return refuse(
      'BAD_USER_INPUT',
      field,
      `${field} has more than ${decimals} decimal places (${currency}).`,
    );
  const units = BigInt(match[1]! + fraction.padEnd(decimals, '0'));
  if (units === 0n) return refuse('BAD_USER_INPUT', field, `${field} must be greater than zero.`);
  return { ok: true, units };
}

type Ticks = { readonly ok: true; readonly ticks: number } | Extract<PlaceOrderPlan, { ok: false }>;

function priceTicksOf(text: string, market: MarketSpec, field: 'price' | 'stopPrice'): Ticks {
  const parsed = parsePositive(text, market.quote.decimals, field, market.quote.symbol);
  if (!parsed.ok) return parsed;
  if (parsed.units % market.tickSizeQuoteUnits !== 0n)
    return refuse(
      'INVALID_TICK_SIZE',
      field,
      `${field} ${text} is not a multiple of the tick size of ${market.symbol}.`,
    );
  const ticks = parsed.units / market.tickSizeQuoteUnits;
  if (ticks > BigInt(market.maxPriceTicks))
    return refuse(
      'BAD_USER_INPUT',
      field,
      `${field} ${text} is above the largest price of ${market.symbol}.`,
    );
  return { ok: true, ticks: Number(ticks) };
}

function quantityLotsOf(text: string, market: MarketSpec): Ticks {
  const parsed = parsePositive(text, market.base.decimals, 'quantity', market.base.symbol);
  if (!parsed.ok) return parsed;
  if (parsed.units % market.lotSizeBaseUnits !== 0n)
    return refuse(
      'INVALID_LOT_SIZE',
      'quantity',
      `quantity ${text} is not a multiple of the lot size of ${market.symbol}.`,
    );
  const lots = parsed.units / market.lotSizeBaseUnits;
  if (lots > BigInt(market.maxQuantityLots))
    return refuse(
      'BAD_USER_INPUT',
      'quantity',
      `quantity ${text} is above the largest order of ${market.symbol}.`,
    );
  return { ok: true, ticks: Number(lots) };
}

const given = (value: string | null | undefined): value is string => value !== null && value !== undefined;

/** Validates `request` against `market` (already looked up by symbol) for `userId`. */
export function planPlaceOrder(
  request: PlaceOrderRequest,
  market: MarketSpec,
  userId: string,
): PlaceOrderPlan {
  const { side, type } = request;
  const postOnly = request.postOnly ?? false;
  const selfTradePrevention = request.selfTradePrevention ?? 'EXPIRE_TAKER';
  const isMarketType = type === 'MARKET' || type === 'STOP_MARKET';
  const requestedTif = request.timeInForce ?? 'GTC';
  // Market orders never rest, so "good till cancelled" means "whatever fills now".
  const timeInForce: TimeInForce = isMarketType && requestedTif === 'GTC' ? 'IOC' : requestedTif;

  const clientOrderId = request.clientOrderId ?? null;
  if (clientOrderId !== null && !clientOrderIdPattern.test(clientOrderId))
    return refuse('BAD_USER_INPUT', 'clientOrderId', 'clientOrderId must be 1..64 letters, digits or ._:/-');

  const needsPrice = type === 'LIMIT' || type === 'STOP_LIMIT';
  const needsStop = type === 'STOP_LIMIT' || type === 'STOP_MARKET';
  if (needsPrice && !given(request.price))
    return refuse('BAD_USER_INPUT', 'price', `A ${type} order needs a price.`);
  if (!needsPrice && given(request.price))
    return refuse(
      'BAD_USER_INPUT',
      'price',
      `A ${type} order has no price (it trades at the book's prices).`,
    );
  if (needsStop && !given(request.stopPrice))
    return refuse('BAD_USER_INPUT', 'stopPrice', `A ${type} order needs a stopPrice.`);
  if (!needsStop && given(request.stopPrice))
    return refuse('BAD_USER_INPUT', 'stopPrice', `Only stop orders have a stopPrice.`);
  if (postOnly && (type !== 'LIMIT' || timeInForce !== 'GTC'))
    return refuse('BAD_USER_INPUT', 'postOnly', 'postOnly applies to GTC LIMIT orders only.');

  // Quantity or quote budget: limit orders and sells by quantity; market buys by exactly one of
  // them; a stop market buy by its quote budget (the core must know what it may spend).
  const hasQuantity = given(request.quantity);
  const hasQuote = given(request.quoteQuantity);
  if (needsPrice || side === 'SELL') {
    if (hasQuote)
      return refuse(
        'BAD_USER_INPUT',
        'quoteQuantity',
        'quoteQuantity is only for MARKET and STOP_MARKET buys.',
      );
    if (!hasQuantity)
      return refuse('BAD_USER_INPUT', 'quantity', `A ${type} ${side} order needs a quantity.`);
  } else if (type === 'STOP_MARKET') {
    if (hasQuantity || !hasQuote)
      return refuse(
        'BAD_USER_INPUT',
        'quoteQuantity',
        'A STOP_MARKET buy is sized by quoteQuantity (not quantity).',
      );
  } else if (hasQuantity === hasQuote) {
    return refuse(
      'BAD_USER_INPUT',
      'quantity',
      'A MARKET buy takes either quantity or quoteQuantity, not both.',
    );
  }
  if (hasQuote && timeInForce === 'FOK')
    return refuse('BAD_USER_INPUT', 'timeInForce', 'A buy by quoteQuantity cannot be FOK; use quantity.');

  let priceTicks: number | null = null;
  if (needsPrice) {
    const parsed = priceTicksOf(request.price!, market, 'price');
    if (!parsed.ok) return parsed;
    priceTicks = parsed.ticks;
  }
  let stopPriceTicks: number | null = null;
  if (needsStop) {
    const parsed = priceTicksOf(request.stopPrice!, market, 'stopPrice');
    if (!parsed.ok) return parsed;
    stopPriceTicks = parsed.ticks;
  }
  let quantityLots: number | null = null;
  if (hasQuantity) {
    const parsed = quantityLotsOf(request.quantity!, market);
    if (!parsed.ok) return parsed;
    quantityLots = parsed.ticks;
  }
  let quoteBudgetUnits: bigint | null = null;
  if (hasQuote) {
    const parsed = parsePositive(
      request.quoteQuantity!,
      market.quote.decimals,
      'quoteQuantity',
      market.quote.symbol,
    );
    if (!parsed.ok) return parsed;
    if (parsed.units < market.minNotionalQuoteUnits)
      return refuse(
        'MIN_NOTIONAL',
        'quoteQuantity',
        `quoteQuantity is below the minimum notional of ${market.symbol}.`,
      );
    quoteBudgetUnits = parsed.units;
  }
  if (priceTicks !== null && quantityLots !== null) {
    if (notionalQuoteUnits(market, priceTicks, quantityLots) < market.minNotionalQuoteUnits)
      return refuse(
        'MIN_NOTIONAL',
        'quantity',
        `price × quantity is below the minimum notional of ${market.symbol}.`,
      );
  }

  return {
    ok: true,
    command: {
      type: 'PlaceOrder',
      userId,
      marketId: market.marketId,
      side,
      orderType: type,
      timeInForce,
      priceTicks,
      stopPriceTicks,
      quantityLots,
      quoteBudgetUnits,
      postOnly,
      selfTradePrevention,
      clientOrderId,
    },
  };
}
