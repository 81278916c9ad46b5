/** The `accounts` test subgraph (see typeDefs.graphql), served like every GraphEx subgraph. */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import {
  startSubgraphService,
  type BaseRequestContext,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { apiError } from '@graphex/schema';

export const accountsTypeDefs = readFileSync(new URL('./typeDefs.graphql', import.meta.url), 'utf8');

/** Message of the deliberate internal failure; it must appear in the subgraph log, never in a response. */
export const secretFailure =
  'relation "secret_ledger" does not exist: SELECT balance FROM secret_ledger WHERE user_id = $1';

const emailOf = (id: string): string => `${id}@accounts.test`;

const resolvers: GraphQLResolverMap<BaseRequestContext> = {
  Query: {
    greeting: () => 'hello from accounts',
    viewer: (_parent, _args, { identity }) =>
      identity.kind === 'anonymous'
        ? { kind: 'anonymous', userId: null, role: null, sessionId: null }
        : {
            kind: identity.kind,
            userId: identity.userId,
            role: identity.role,
            sessionId: identity.kind === 'user' ? identity.sessionId : null,
          },
    me: (_parent, _args, { identity }) =>
      identity.kind === 'anonymous' ? null : { id: identity.userId, email: emailOf(identity.userId) },
    user: (_parent, args: { id: string }) => ({ id: args.id, email: emailOf(args.id) }),
    explode: () => {
      throw new Error(secretFailure);
    },
    refuse: () => {
      throw apiError('INSUFFICIENT_FUNDS', 'Available USDT does not cover this order.', {
        required: '10.50',
      });
    },
  },
  User: {
    __resolveReference: (reference: { id: string }) => ({ id: reference.id, email: emailOf(reference.id) }),
  },
};

export function startAccountsSubgraph(options: {
  readonly config: PlatformConfig;
  readonly logger: Logger;
  readonly isReady?: () => Promise<boolean>;
}): Promise<RunningService> {
  return startSubgraphService({
    name: 'accounts',
    schema: buildSubgraphSchema([{ typeDefs: parse(accountsTypeDefs), resolvers }]),
    port: 0,
    config: options.config,
    logger: options.logger,
    createContext: (base) => base,
    ...(options.isReady ? { isReady: options.isReady } : {}),
  });
}
