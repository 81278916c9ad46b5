import { DateTimeScalar, DecimalScalar, requireUser, type Identity } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Resolvers } from '../__generated__/resolvers-types.ts';
import type { SubgraphContext } from '../context.ts';
import { encodeCursor, pageRequest } from '../domain/cursor.ts';
import {
  averageFillPrice,
  canReadOrdersOf,
  orderedQuantity,
  remainingQuantity,
  type FillRecord,
  type OrderRecord,
} from '../domain/order.ts';

const maxIdLength = 64;
const maxSymbolLength = 32;

/** The order if `identity` may see it, else null: other people's orders do not exist for the caller. */
function visible(identity: Identity, order: OrderRecord | null): OrderRecord | null {
  return order && canReadOrdersOf(identity, order.userId) ? order : null;
}

export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  Query: {
    order: async (_parent, { id }, { identity, orders }) => {
      requireUser(identity);
      if (id.length === 0 || id.length > maxIdLength) return null;
      return visible(identity, await orders.order(id));
    },
  },
  Mutation: {
    placeOrder: (_parent, { input }, { identity, trading }) => trading.placeOrder(identity, input),
    cancelOrder: (_parent, { id }, { identity, trading }) => trading.cancelOrder(identity, id),
    cancelAllOrders: (_parent, { symbol }, { identity, trading }) =>
      trading.cancelAllOrders(identity, symbol ?? null),
  },
  Subscription: {
    myOrders: {
      subscribe: (_parent, _args, { identity, streams }) => streams.orders(requireUser(identity).userId),
      resolve: (order: OrderRecord, _args: unknown, { orders }: SubgraphContext) => {
        orders.reset();
        return order;
      },
    },
    myFills: {
      subscribe: (_parent, _args, { identity, streams }) => streams.fills(requireUser(identity).userId),
      resolve: (fill: FillRecord, _args: unknown, { orders }: SubgraphContext) => {
        orders.reset();
        return fill;
      },
    },
  },
  User: {
    __resolveReference: (reference) => ({ id: reference.id }),
    orders: async (user, { symbol, status, first, after }, { identity, orders }) => {
      requireUser(identity);
      if (!canReadOrdersOf(identity, user.id))
        throw apiError('FORBIDDEN', "Only the user, SUPPORT or ADMIN may read a user's orders.");
      const page = pageRequest(first, after);
      if (
        symbol !== null &&
        symbol !== undefined &&
        (symbol.length === 0 || symbol.length > maxSymbolLength)
      ) {
        throw apiError('BAD_USER_INPUT', `\`symbol\` must be 1..${maxSymbolLength} characters.`, {
          argument: 'symbol',
        });
      }
      const result = await orders.userOrders({ userId: user.id, symbol, statuses: status }, page);
      const edges = result.edges.map((edge) => ({ cursor: encodeCursor(edge.cursor), node: edge.order }));
      return {
        edges,
        pageInfo: { hasNextPage: result.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: result.totalCount,
      };
    },
  },
  Order: {
    __resolveReference: async (reference, { identity, orders }) =>
      visible(identity, await orders.order(reference.id)),
    user: (order) => ({ id: order.userId }),
    market: (order) => ({ symbol: order.symbol }),
    quantity: (order) => orderedQuantity(order),
    remainingQuantity: (order) => remainingQuantity(order),
    averageFillPrice: (order) => averageFillPrice(order),
    fills: (order, _args, { orders }) => (order.knownFills ? [...order.knownFills] : orders.fills(order.id)),
  },
  Fill: {
    order: async (fill, _args, { orders }) => {
      if (fill.knownOrder) return fill.knownOrder;
      const order = await orders.order(fill.orderId);
      // fills.order_id references orders.id: a fill without its order is a broken database.
      if (!order) throw new Error(`Fill ${fill.tradeId} has no order ${fill.orderId}`);
      return order;
    },
  },
};
