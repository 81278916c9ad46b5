/**
 * graphql-ws (`graphql-transport-ws`) on a subgraph's own HTTP server, path /graphql: how the
 * gateway runs the primary fetch of a federated subscription. Each connection must carry the
 * gateway-signed identity in `connection_init` (`connectionParams["x-graphex-identity"]`);
 * without a valid one graphql-ws closes it with 4403 Forbidden. Resolvers get the same context
 * shape as over HTTP (`{ identity, requestId, logger }` + what `createContext` adds), one per
 * operation. Errors are masked like HTTP errors (registry code or INTERNAL_SERVER_ERROR).
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { internalIdentityHeader, verifyInternalIdentity, type Identity } from './auth/identity.ts';
import { maskError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { BaseRequestContext } from './subgraph-service.ts';

export interface SubgraphSubscriptionOptions {
  /** Largest message a client may send, in bytes (default 64 KiB). */
  readonly maxPayloadBytes?: number;
  /** Open WebSocket connections at most; further upgrades are refused with 503 (default 10,000). */
  readonly maxConnections?: number;
  /** How long a socket may stay without `connection_init` (default 3 s). */
  readonly connectionInitWaitTimeoutMs?: number;
  /** Ping interval (default 12 s). */
  readonly keepAliveMs?: number;
}

export interface SubscriptionServer {
  close(): Promise<void>;
}

export function attachSubscriptionServer<TContext extends BaseRequestContext>(
  httpServer: http.Server,
  options: SubgraphSubscriptionOptions & {
    readonly schema: GraphQLSchema;
    readonly internalTokenSecret: string;
    readonly logger: Logger;
    readonly createContext: (base: BaseRequestContext) => TContext | Promise<TContext>;
  },
): SubscriptionServer {
  const { logger } = options;
  const maxConnections = options.maxConnections ?? 10_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 64 * 1024 });
  const identities = new WeakMap<WebSocket, Identity>();

  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/graphql' || wss.clients.size >= maxConnections) {
      const status = pathname !== '/graphql' ? '404 Not Found' : '503 Service Unavailable';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  httpServer.on('upgrade', onUpgrade);

  const mask = (error: Parameters<typeof maskError>[1] & { toJSON(): Parameters<typeof maskError>[0] }) =>
    maskError(error.toJSON(), error, { logger });

  const server = useServer(
    {
      schema: options.schema,
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 3_000,
      onConnect: async (ctx) => {
        try {
          const token = ctx.connectionParams?.[internalIdentityHeader];
          const identity = await verifyInternalIdentity(
            typeof token === 'string' ? token : undefined,
            options.internalTokenSecret,
          );
          identities.set(ctx.extra.socket, identity);
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      context: async (ctx) => {
        const identity = identities.get(ctx.extra.socket);
        // onConnect refused every socket without one; graphql-ws runs no operation before it.
        if (!identity) throw new Error('WebSocket operation without a verified identity.');
        const requestId = randomUUID();
        return options.createContext({ identity, requestId, logger: logger.child({ requestId }) });
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(mask) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map(mask),
    },
    wss,
    options.keepAliveMs ?? 12_000,
  );

  return {
    async close() {
      httpServer.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Going away');
      await server.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
