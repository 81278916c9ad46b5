/**
 * startSubgraphService over real sockets: HTTP with the gateway-signed identity header, and the
 * optional graphql-ws server on the same /graphql path that takes the identity from
 * `connection_init`, refuses connections without a valid one, and gives operations the same
 * context shape as HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { apiError } from '@graphex/schema';
import { internalIdentityHeader, requireUser, signInternalIdentity, type Identity } from './auth/identity.ts';
import { startSubgraphService, type BaseRequestContext, type RunningService } from './subgraph-service.ts';
import { callSubgraph, testConfig, testLogger, userIdentity } from './testing.ts';

const config = testConfig();

interface Context extends BaseRequestContext {
  readonly tag: string;
}

const typeDefs = parse(`
  type Query { whoami: String }
  type Subscription {
    "Counts to 3 for the signed-in user, tagged with the context's user id."
    count: String!
    failing: String!
  }
`);

let service: RunningService;
const wsUrl = () => service.url.replace('http://', 'ws://');
const clients: Client[] = [];

function connect(identity: Identity | null, token?: string): Client {
  const client = createClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: async () =>
      token !== undefined
        ? { [internalIdentityHeader]: token }
        : identity
          ? { [internalIdentityHeader]: await signInternalIdentity(identity, config.internalTokenSecret, 60) }
          : {},
  });
  clients.push(client);
  return client;
}

function collect(client: Client, query: string): Promise<{ values: unknown[]; error: unknown }> {
  return new Promise((resolve) => {
    const values: unknown[] = [];
    client.subscribe(
      { query },
      {
        next: (value) => values.push(value),
        error: (error) => resolve({ values, error }),
        complete: () => resolve({ values, error: undefined }),
      },
    );
  });
}

beforeAll(async () => {
  const schema = buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        Query: {
          whoami: (_: unknown, __: unknown, context: Context) =>
            `${context.tag}:${requireUser(context.identity).userId}`,
        },
        Subscription: {
          count: {
            subscribe: async function* (_: unknown, __: unknown, context: Context) {
              const { userId } = requireUser(context.identity);
              for (let i = 1; i <= 3; i++) yield `${context.tag}:${userId}:${i}`;
            },
            resolve: (value: string) => value,
          },
          failing: {
            subscribe: async function* () {
              yield 'first';
              yield 'boom';
              throw apiError('LIMIT_EXCEEDED', 'too slow');
            },
            resolve: (value: string) => {
              if (value === 'boom') throw new Error('secret internals');
              return value;
            },
          },
        },
      } as never,
    },
  ]);
  service = await startSubgraphService<Context>({
    name: 'test',
    schema,
    port: 0,
    config,
    logger: testLogger,
    createContext: (base) => ({ ...base, tag: 'ctx' }),
    subscriptions: { connectionInitWaitTimeoutMs: 500 },
  });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await service?.close();
});

describe('startSubgraphService', () => {
  it('serves HTTP with the header identity, as before', async () => {
    const result = await callSubgraph<{ whoami: string }>(
      service.url,
      '{ whoami }',
      {},
      userIdentity('u-1'),
      config,
    );
    expect(result.data).toEqual({ whoami: 'ctx:u-1' });
    expect((await callSubgraph(service.url, '{ whoami }', {}, null, config)).status).toBe(401);
  });

  it('runs subscriptions over graphql-ws with the connection_init identity in the same context shape', async () => {
    const { values, error } = await collect(connect(userIdentity('u-7')), 'subscription { count }');
    expect(error).toBeUndefined();
    expect(values).toEqual([1, 2, 3].map((i) => ({ data: { count: `ctx:u-7:${i}` } })));
    // Anonymous (validly signed) reaches the resolver, which refuses it with a registry code.
    const anonymous = await collect(connect({ kind: 'anonymous' }), 'subscription { count }');
    expect(anonymous.error).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
    ]);
  });

  it('closes connections without a valid identity with 4403', async () => {
    for (const client of [connect(null), connect(null, 'forged.token.value')]) {
      const { error } = await collect(client, 'subscription { count }');
      expect((error as { code?: number }).code).toBe(4403);
    }
    const expired = await signInternalIdentity(
      userIdentity('u-1'),
      'some-other-secret-that-is-32-chars-long!',
      60,
    );
    const { error } = await collect(connect(null, expired), 'subscription { count }');
    expect((error as { code?: number }).code).toBe(4403);
  });

  it('passes registry errors raised mid-stream and masks the rest', async () => {
    const { values, error } = await collect(connect(userIdentity('u-1')), 'subscription { failing }');
    expect(values).toEqual([
      { data: { failing: 'first' } },
      {
        data: null,
        errors: [
          expect.objectContaining({
            message: 'Internal server error',
            extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }),
          }),
        ],
      },
    ]);
    expect(JSON.stringify(values)).not.toContain('secret');
    expect(error).toEqual([
      expect.objectContaining({
        message: 'too slow',
        extensions: expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
      }),
    ]);
  });

  it('refuses WebSocket upgrades on other paths', async () => {
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl().replace('/graphql', '/other'), 'graphql-transport-ws');
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('error', () => resolve(-1));
    });
    expect(refused).toBe(404);
  });
});
