/** The `orders` test subgraph (see typeDefs.graphql), served like every GraphEx subgraph. */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import {
  DecimalScalar,
  requireUser,
  startSubgraphService,
  type BaseRequestContext,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { apiError } from '@graphex/schema';

export const ordersTypeDefs = readFileSync(new URL('./typeDefs.graphql', import.meta.url), 'utf8');

const resolvers: GraphQLResolverMap<BaseRequestContext> = {
  Decimal: DecimalScalar,
  Query: {
    ordersGreeting: () => 'hello from orders',
    echoAmount: (_parent, args: { amount: string }) => args.amount,
  },
  User: {
    orderCount: (user: { id: string }, _args, { identity }) => {
      const caller = requireUser(identity);
      if (caller.userId !== user.id) throw apiError('FORBIDDEN', 'Only the user may read their order count.');
      return user.id.length;
    },
  },
};

export function startOrdersSubgraph(options: {
  readonly config: PlatformConfig;
  readonly logger: Logger;
}): Promise<RunningService> {
  return startSubgraphService({
    name: 'orders',
    schema: buildSubgraphSchema([{ typeDefs: parse(ordersTypeDefs), resolvers }]),
    port: 0,
    config: options.config,
    logger: options.logger,
    createContext: (base) => base,
  });
}
