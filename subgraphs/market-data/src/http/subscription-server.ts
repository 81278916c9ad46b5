/**
 * graphql-ws (protocol `graphql-transport-ws`) on the subgraph's own HTTP server and path, for its
 * Subscription fields (gateway/src/subscriptions/README.md, "What a subgraph must serve"):
 * - `connection_init` must carry the gateway-signed identity in `x-graphex-identity`; anything
 *   else closes the socket with 4403 Forbidden (graphql-ws' refusal), no `connection_init` within
 *   the wait timeout closes it with 4408;
 * - that identity is the context of every operation on the connection;
 * - operations per connection, message size and document size are bounded; errors are masked
 *   like HTTP ones (registry codes pass, anything else becomes INTERNAL_SERVER_ERROR).
 *
 * graphql-ws' own server is used rather than mercurius' built-in subscriptions: it is the
 * reference implementation of the protocol the gateway's client speaks (standard close codes,
 * duplicate-id and init-timeout handling).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import {
  internalIdentityHeader,
  maskError,
  verifyInternalIdentity,
  type BaseRequestContext,
  type Identity,
  type Logger,
} from '@graphex/runtime';
import { apiError } from '@graphex/schema';

export interface SubscriptionServerLimits {
  /** Open WebSocket connections at most; further upgrades get 503. */
  readonly maxConnections: number;
  readonly maxOperationsPerConnection: number;
  readonly maxMessageBytes: number;
  readonly maxQueryTokens: number;
  readonly connectionInitWaitTimeoutMs: number;
  /** Ping interval. */
  readonly keepAliveMs: number;
}

export const defaultSubscriptionServerLimits: SubscriptionServerLimits = {
  maxConnections: 10_000,
  maxOperationsPerConnection: 1_000,
  maxMessageBytes: 64 * 1024,
  maxQueryTokens: 5_000,
  connectionInitWaitTimeoutMs: 3_000,
  keepAliveMs: 12_000,
};

export interface SubscriptionServerOptions<TContext extends BaseRequestContext> {
  readonly server: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly internalTokenSecret: string;
  readonly logger: Logger;
  readonly createContext: (base: BaseRequestContext) => TContext;
  readonly limits?: Partial<SubscriptionServerLimits>;
}

export interface SubscriptionServer {
  close(): Promise<void>;
}

export function serveSubscriptions<TContext extends BaseRequestContext>(
  options: SubscriptionServerOptions<TContext>,
): SubscriptionServer {
  const limits = { ...defaultSubscriptionServerLimits, ...options.limits };
  const { logger, schema } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== options.path || wss.clients.size >= limits.maxConnections) {
      const status = pathname !== options.path ? '404 Not Found' : '503 Service Unavailable';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.server.on('upgrade', onUpgrade);

  const identities = new WeakMap<object, Identity>();
  const contexts = new WeakMap<object, Map<string, TContext>>();

  const disposable = useServer<Record<string, unknown> | undefined>(
    {
      schema,
      connectionInitWaitTimeout: limits.connectionInitWaitTimeoutMs,
      onConnect: async (ctx) => {
        const token = ctx.connectionParams?.[internalIdentityHeader];
        try {
          identities.set(
            ctx,
            await verifyInternalIdentity(
              typeof token === 'string' ? token : undefined,
              options.internalTokenSecret,
            ),
          );
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const identity = identities.get(ctx);
        if (!identity) return [apiError('UNAUTHENTICATED', 'No verified identity on this connection.')];
        if (Object.keys(ctx.subscriptions).length >= limits.maxOperationsPerConnection)
          return [
            apiError(
              'LIMIT_EXCEEDED',
              `At most ${limits.maxOperationsPerConnection} operations per connection.`,
            ),
          ];
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: limits.maxQueryTokens });
        } catch (error) {
          const message =
            error instanceof GraphQLError ? error.message : 'The query is not GraphQL source text.';
          return [apiError('GRAPHQL_PARSE_FAILED', message)];
        }
        const errors = validate(schema, document);
        if (errors.length > 0)
          return errors.map((error) => apiError('GRAPHQL_VALIDATION_FAILED', error.message));
        const requestId = randomUUID();
        const context = options.createContext({ identity, requestId, logger: logger.child({ requestId }) });
        let byId = contexts.get(ctx);
        if (!byId) contexts.set(ctx, (byId = new Map()));
        byId.set(id, context);
        return {
          schema,
          document,
          contextValue: context,
          variableValues: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
        };
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors?.length) return undefined;
        const context = contexts.get(ctx)?.get(id);
        return {
          ...result,
          errors: result.errors.map((error) =>
            maskError(error.toJSON(), error, {
              logger: context?.logger ?? logger,
              requestId: context?.requestId,
            }),
          ),
        };
      },
      onComplete: (ctx, id) => {
        contexts.get(ctx)?.delete(id);
      },
    },
    wss,
    limits.keepAliveMs,
  );

  return {
    close: async () => {
      options.server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Going away');
      await disposable.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
