/**
 * Trading use cases: place, cancel, cancel all. Input is validated against the market before the
 * core; the core's refusals become API errors through `resultCodeToErrorCode` (the one mapping);
 * the answer is the core's verdict, folded from the events the command caused (read-your-writes),
 * on top of the read model's row for orders that existed before.
 */
import {
  requireUser,
  type Identity,
  type Logger,
  type ProjectionRunner,
  type Queryable,
} from '@graphex/runtime';
import {
  apiError,
  resultCodeName,
  resultCodeToErrorCode,
  ResultCode,
  type CoreClient,
  type CoreCommand,
  type PublicCoreEvent,
  type SubmitOutcome,
} from '@graphex/schema';
import { quantityOf, type MarketCatalog } from './domain/market.ts';
import type { FillRecord, OrderRecord } from './domain/order.ts';
import { foldOrderEvents, orderIdsOf, ProjectionInvariantError } from './domain/order-fold.ts';
import { planPlaceOrder, type PlaceOrderRequest } from './domain/place-order.ts';
import { fillsByOrderIds, ordersByIds } from './store/orders.ts';

export interface TradingOptions {
  readonly core: CoreClient;
  readonly catalog: MarketCatalog;
  readonly projection: Pick<ProjectionRunner, 'waitFor'>;
  readonly db: Queryable;
  readonly logger: Logger;
}

export interface Trading {
  placeOrder(identity: Identity, input: PlaceOrderRequest): Promise<OrderRecord>;
  cancelOrder(identity: Identity, id: string): Promise<OrderRecord>;
  cancelAllOrders(identity: Identity, symbol: string | null): Promise<OrderRecord[]>;
  /**
   * Every batch of core events the projection handled (applied here or by another instance), in
   * order: keeps this instance's recent placements as current as the read model.
   */
  observeCoreEvents(events: readonly PublicCoreEvent[]): void;
}

const maxSymbolLength = 32;
/** Recent live placements kept per instance for answering cancels without waiting. */
const maxRecentOrders = 10_000;
/** Order ids are the core's command sequence numbers: positive safe integers. */
const orderIdPattern = /^[1-9]\d{0,15}$/;

function refusal(outcome: SubmitOutcome): Error {
  const code = outcome.result.code;
  const errorCode = resultCodeToErrorCode[code] ?? 'INTERNAL_SERVER_ERROR';
  const messages: Partial<Record<string, string>> = {
    INSUFFICIENT_FUNDS: 'Insufficient available balance for this order.',
    POST_ONLY_WOULD_TRADE: 'A post-only order would have traded on arrival; nothing was placed.',
    DUPLICATE_CLIENT_ORDER_ID: 'This clientOrderId was already used for a different order.',
    MARKET_HALTED: 'Trading in this market is halted.',
    ORDER_NOT_OPEN: 'The order is no longer open.',
    NOT_FOUND: 'No such order.',
    LIMIT_EXCEEDED: 'Too many open orders.',
  };
  return apiError(
    errorCode,
    messages[errorCode] ?? `The matching core refused the command (${resultCodeName(code)}).`,
    {
      coreResult: resultCodeName(code),
    },
  );
}

/**
 * The answer carries its fills, and each fill its order, as of the core's verdict: the read model
 * may not have applied the command yet, and `fills { order { status } }` must agree with the order.
 */
function withFills(order: OrderRecord, fills: readonly FillRecord[]): OrderRecord {
  const answer: { -readonly [K in keyof OrderRecord]: OrderRecord[K] } = { ...order };
  answer.knownFills = fills.map((fill) => ({ ...fill, knownOrder: answer }));
  return answer;
}

export function createTrading(options: TradingOptions): Trading {
  const { core, catalog, projection, db } = options;

  const submit = async (command: CoreCommand): Promise<SubmitOutcome> => {
    try {
      return await core.submit(command);
    } catch (error) {
      options.logger.error('core submit failed', { error, type: command.type });
      throw apiError('SERVICE_UNAVAILABLE', 'The matching core is unavailable; retry shortly.');
    }
  };

  /**
   * Live orders this instance placed recently, as the core answered, then kept current with every
   * core event the projection handles: a cancel right after a placement needs neither the
   * projection nor a read of the read model. Bounded; oldest forgotten first.
   *
   * `complete`: the entry holds every event of its order up to `observedThrough`. An entry created
   * after the projection had already passed its placement missed events and is only a hint.
   */
  const recent = new Map<
    string,
    { order: OrderRecord; fills: readonly FillRecord[]; readonly complete: boolean }
  >();
  /**
   * Owner of each order this instance placed recently (an owner never changes): a cancel the core
   * refuses as ORDER_NOT_OPEN is answered without waiting for the read model. Bounded.
   */
  const placedBy = new Map<string, string>();
  /** Last eventSeq handed to `observeCoreEvents`, while they arrived contiguously. */
  let observedThrough = 0;
  const live = (order: OrderRecord): boolean =>
    order.status === 'OPEN' || order.status === 'PARTIALLY_FILLED' || order.status === 'PENDING_TRIGGER';
  const remember = (order: OrderRecord, fills: readonly FillRecord[], placedThrough: number): void => {
    if (!live(order)) return;
    if (recent.size >= maxRecentOrders) recent.delete(recent.keys().next().value!);
    const { knownFills: _fills, ...plain } = order;
    recent.set(order.id, { order: plain, fills, complete: placedThrough >= observedThrough });
  };

  const observeCoreEvents = (events: readonly PublicCoreEvent[]): void => {
    if (events.length === 0) return;
    const first = events[0]!.eventSeq;
    if (first > observedThrough + 1 && observedThrough !== 0) {
      // Events this instance never saw: nothing cached can be trusted to be complete any more.
      for (const [id, entry] of recent) recent.set(id, { ...entry, complete: false });
    }
    observedThrough = Math.max(observedThrough, events.at(-1)!.eventSeq);
    if (recent.size === 0) return;
    const touched = new Set<string>();
    for (const event of events) for (const id of orderIdsOf(event)) if (recent.has(id)) touched.add(id);
    if (touched.size === 0) return;
    const orders = new Map([...touched].map((id) => [id, recent.get(id)!.order]));
    let folded;
    try {
      folded = foldOrderEvents({ catalog: catalog.clone(), orders, events, only: touched });
    } catch (error) {
      // The projection decides about broken invariants; here the entries are merely not trusted.
      if (!(error instanceof ProjectionInvariantError)) throw error;
      for (const id of touched) recent.delete(id);
      return;
    }
    for (const id of touched) {
      const entry = recent.get(id)!;
      const order = orders.get(id)!;
      if (!live(order)) {
        recent.delete(id);
        continue;
      }
      const newFills = folded.fills.filter((fill) => fill.fill.orderId === id).map((fill) => fill.fill);
      recent.set(id, {
        ...entry,
        order,
        fills: newFills.length > 0 ? [...entry.fills, ...newFills] : entry.fills,
      });
    }
  };

  /**
   * `ids` after `outcome` from the recent placements alone, or null. Exact when the cached state
   * holds every change before the command: the fold checks each OrderDone's filled lots against
   * the cached fills, and filled + remaining lots against the cached quantity (an amendment).
   */
  const ordersAfterFromRecent = (outcome: SubmitOutcome, ids: readonly string[]): OrderRecord[] | null => {
    const orders = new Map<string, OrderRecord>();
    for (const id of ids) {
      const cached = recent.get(id);
      if (!cached?.complete) return null;
      orders.set(id, cached.order);
    }
    for (const event of outcome.events) {
      if (event.type !== 'OrderDone') continue;
      const order = orders.get(String(event.orderId));
      if (!order || order.quantity === null || order.quoteQuantity !== null) continue;
      const market = catalog.market(event.marketId);
      if (!market || quantityOf(market, event.filledLots + event.remainingLots) !== order.quantity)
        return null;
    }
    try {
      foldOrderEvents({ catalog: catalog.clone(), orders, events: outcome.events, only: new Set(ids) });
    } catch (error) {
      if (error instanceof ProjectionInvariantError) return null;
      throw error;
    }
    return ids.map((id) => {
      const { fills } = recent.get(id)!;
      recent.delete(id);
      return withFills(orders.get(id)!, fills);
    });
  };

  /**
   * `ids` after `outcome`: the freshest known state of each (read model row or recent placement)
   * with the outcome's events folded on top. That is exact when the state already holds every fill
   * the core counted (OrderDone carries the filled quantity; the fold checks it); otherwise wait
   * for the projection to apply everything before `outcome` and fold onto its rows.
   */
  const ordersAfter = async (outcome: SubmitOutcome, ids: readonly string[]): Promise<OrderRecord[]> => {
    const fromRecent = ids.length > 0 ? ordersAfterFromRecent(outcome, ids) : null;
    if (fromRecent) return fromRecent;
    const only = new Set(ids);
    const attempt = async (useRecent: boolean): Promise<OrderRecord[] | null> => {
      const rows = new Map((await ordersByIds(db, ids)).map((order) => [order.id, order]));
      const storedFills = await fillsByOrderIds(db, ids);
      const orders = new Map<string, OrderRecord>();
      const fillsOf = new Map<string, readonly FillRecord[]>();
      for (const id of ids) {
        const row = rows.get(id);
        const cached = useRecent ? recent.get(id) : undefined;
        if (cached && (!row || cached.order.lastEventSeq > row.lastEventSeq)) {
          orders.set(id, cached.order);
          fillsOf.set(id, cached.fills);
        } else if (row) {
          orders.set(id, row);
          fillsOf.set(
            id,
            storedFills.filter((fill) => fill.orderId === id),
          );
        }
      }
      try {
        foldOrderEvents({ catalog: catalog.clone(), orders, events: outcome.events, only });
      } catch (error) {
        if (useRecent && error instanceof ProjectionInvariantError) return null;
        throw error;
      }
      if (!ids.every((id) => orders.has(id))) {
        if (useRecent) return null;
        throw new Error(
          `Orders ${ids.join(', ')} are missing from the read model after the core reported them.`,
        );
      }
      return ids.map((id) => {
        recent.delete(id);
        return withFills(orders.get(id)!, fillsOf.get(id)!);
      });
    };
    const fast = await attempt(true);
    if (fast) return fast;
    const first = outcome.events[0]?.eventSeq;
    if (first !== undefined) await projection.waitFor(first - 1);
    return (await attempt(false))!;
  };

  /** The order once the read model reached everything the core did so far (for replies without events). */
  const orderNow = async (id: string): Promise<OrderRecord | null> => {
    await projection.waitFor(await core.lastEventSeq());
    return (await ordersByIds(db, [id]))[0] ?? null;
  };

  return {
    async placeOrder(identity, input) {
      const { userId } = requireUser(identity);
      const market =
        input.symbol.length <= maxSymbolLength ? catalog.marketBySymbol(input.symbol) : undefined;
      if (!market)
        throw apiError('MARKET_NOT_FOUND', `No market "${input.symbol.slice(0, maxSymbolLength)}".`);
      const plan = planPlaceOrder(input, market, userId);
      if (!plan.ok) throw apiError(plan.code, plan.message, { field: plan.field });
      const outcome = await submit(plan.command);
      const { code, orderId } = outcome.result;
      if (code === ResultCode.OK_IDEMPOTENT_REPLAY && orderId !== null) {
        // Same user, same clientOrderId, identical request: the original order, as it is now.
        const original = await orderNow(String(orderId));
        if (!original || original.userId !== userId)
          throw new Error(`Idempotent replay names order ${orderId}, which the read model does not have.`);
        return original;
      }
      if (code !== ResultCode.OK || orderId === null) throw refusal(outcome);
      const id = String(orderId);
      const orders = new Map<string, OrderRecord>();
      const folded = foldOrderEvents({
        catalog: catalog.clone(),
        orders,
        events: outcome.events,
        only: new Set([id]),
      });
      const order = orders.get(id);
      if (!order) throw new Error(`The core accepted order ${id} without an OrderAccepted event.`);
      const fills = folded.fills.map((entry) => entry.fill);
      remember(order, fills, outcome.events.at(-1)?.eventSeq ?? 0);
      if (placedBy.size >= maxRecentOrders) placedBy.delete(placedBy.keys().next().value!);
      placedBy.set(id, userId);
      return withFills(order, fills);
    },

    async cancelOrder(identity, id) {
      const { userId } = requireUser(identity);
      if (!orderIdPattern.test(id) || !Number.isSafeInteger(Number(id)))
        throw apiError('NOT_FOUND', 'No such order.');
      const outcome = await submit({ type: 'CancelOrder', userId, orderId: Number(id) });
      if (outcome.result.code === ResultCode.OK) return (await ordersAfter(outcome, [id]))[0]!;
      if (outcome.result.code === ResultCode.ORDER_NOT_OPEN) {
        // Someone else's finished order must look exactly like a missing one.
        const owner = placedBy.get(id) ?? (await orderNow(id))?.userId;
        if (owner !== userId) throw apiError('NOT_FOUND', 'No such order.');
      }
      throw refusal(outcome);
    },

    async cancelAllOrders(identity, symbol) {
      const { userId } = requireUser(identity);
      let marketId: number | null = null;
      if (symbol !== null) {
        const market = symbol.length <= maxSymbolLength ? catalog.marketBySymbol(symbol) : undefined;
        if (!market) throw apiError('MARKET_NOT_FOUND', `No market "${symbol.slice(0, maxSymbolLength)}".`);
        marketId = market.marketId;
      }
      const outcome = await submit({ type: 'CancelAll', userId, marketId });
      if (outcome.result.code !== ResultCode.OK) throw refusal(outcome);
      const ids = outcome.events
        .filter((event) => event.type === 'OrderDone' && event.userId === userId)
        .map((event) => String((event as { orderId: number }).orderId));
      return ordersAfter(outcome, ids);
    },

    observeCoreEvents,
  };
}
