/**
 * The client-facing graphql-ws endpoint: a `ws` server in `noServer` mode attached to the gateway's
 * HTTP server, answering WebSocket upgrades on one path (`/graphql`) only.
 *
 * - `connection_init` must carry `{ authorization: "Bearer <token>" }` when the client wants to be
 *   somebody; `authenticate` turns it into an Identity (anonymous is allowed for public feeds, the
 *   subgraphs decide what anonymous may see). A refused connection is closed with 4401
 *   (UNAUTHENTICATED: missing/invalid/expired credentials) or 4403 (valid but not allowed), with the
 *   error's message as the close reason; an internal failure closes with 4500.
 * - Every `subscribe` is parsed and validated against the API schema here; subscriptions go to the
 *   executor; queries and mutations go to `executeOperation` when given, else are refused.
 * - Errors reach the client through `formatError` (default: the platform's masking).
 * - Limits: subscriptions per connection, message size (ws closes with 1009), connections per
 *   server (upgrade answered 503), `connection_init` deadline (4408), keep-alive.
 * - A slow consumer (see executor) is disconnected with close code 4008: its socket is the
 *   bottleneck, so every subscription on it would fall behind too.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  GraphQLError,
  OperationTypeNode,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import type * as GraphQLModule from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { maskError, type Identity, type Logger } from '@graphex/runtime';
import { apiError, errorCodeOf } from '@graphex/schema';
import { SubscriptionCloseCode } from './close-codes.ts';
import type { SubscriptionExecutor } from './executor.ts';
import { resolveServerLimits, type SubscriptionServerLimits } from './limits.ts';
import { createSocketWriter, type ConnectionOutput } from './socket-writer.ts';

export interface OperationRequest {
  readonly document: DocumentNode;
  readonly operationName: string | null | undefined;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly identity: Identity;
  readonly requestId: string;
}

export interface SubscriptionServerOptions {
  /** URL path answering WebSocket upgrades. Default `/graphql`. */
  readonly path?: string;
  /** The API schema documents are validated against. Default: the executor's. */
  readonly schema?: GraphQLSchema;
  readonly executor: Pick<SubscriptionExecutor, 'subscribe' | 'apiSchema'>;
  /**
   * Turns the `connection_init` payload (and the upgrade request, for headers and address) into
   * an identity. Throw UNAUTHENTICATED (→ 4401) or FORBIDDEN (→ 4403) to refuse.
   */
  readonly authenticate: (
    connectionParams: Readonly<Record<string, unknown>>,
    request: IncomingMessage,
  ) => Promise<Identity>;
  readonly logger: Logger;
  readonly limits?: Partial<SubscriptionServerLimits>;
  /** Runs queries and mutations sent over the socket; without it they are refused (BAD_REQUEST). */
  readonly executeOperation?: (request: OperationRequest) => Promise<ExecutionResult>;
  /** Extra validation rules (depth, cost, aliases), run after graphql's specified rules. */
  readonly validationRules?: readonly ValidationRule[];
  /** Formats every error sent to clients. Default: registry codes pass, the rest is masked. */
  readonly formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

export interface SubscriptionServer {
  /** Open client WebSockets. */
  readonly connectionCount: number;
  /** Stops answering upgrades and closes every client socket (1001). */
  close(): Promise<void>;
}

/**
 * graphql-ws recognises the errors `onSubscribe` returns with `instanceof GraphQLError` of the
 * graphql copy *it* loaded: the CommonJS build under Node. Our modules get that same copy under
 * Node, but not under a runner that loads graphql's ESM build for source files (vitest), so errors
 * are handed over as instances of graphql-ws's copy.
 */
const { GraphQLError: GraphQLWsError } = createRequire(import.meta.url)('graphql') as typeof GraphQLModule;

/** Typed loosely on purpose: both copies have the same TypeScript type, not the same prototype. */
const GraphQLWsErrorClass: abstract new (...args: never[]) => object = GraphQLWsError;

function forGraphqlWs(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((e: GraphQLError) =>
    Object.getPrototypeOf(e) === GraphQLWsErrorClass.prototype || e instanceof GraphQLWsErrorClass
      ? e
      : new GraphQLWsError(e.message, {
          ...(e.nodes ? { nodes: e.nodes } : {}),
          ...(e.path ? { path: e.path } : {}),
          ...(e.originalError ? { originalError: e.originalError } : {}),
          extensions: e.extensions,
        }),
  );
}

/** Extension keys that describe our internals and never reach clients. */
const internalExtensionKeys = ['serviceName', 'response', 'stacktrace', 'exception', 'http'] as const;

export function defaultSubscriptionErrorFormatter(
  logger: Logger,
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    const masked = maskError(formatted, error, { logger });
    if (!masked.extensions) return masked;
    const extensions: Record<string, unknown> = { ...masked.extensions };
    for (const key of internalExtensionKeys) delete extensions[key];
    return { ...masked, extensions };
  };
}

/**
 * The credential of a `connection_init` payload, `{ authorization: "Bearer <token>" }` (the
 * `Authorization` spelling is accepted too), for the HTTP authenticator: `undefined` when absent
 * (anonymous), UNAUTHENTICATED when present but not a string — never a silent anonymous.
 */
export function authorizationFromConnectionParams(
  params: Readonly<Record<string, unknown>>,
): string | undefined {
  const value = params['authorization'] ?? params['Authorization'];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw apiError('UNAUTHENTICATED', 'connection_init authorization must be "Bearer <token>".');
  return value;
}

interface OperationContextValue {
  readonly identity: Identity;
  readonly requestId: string;
  readonly socket: WebSocket;
  /** The client's id of this operation (graphql-ws `subscribe` message). */
  readonly operationId: string;
}

/** Close reasons are limited to 123 bytes by the WebSocket protocol. */
function closeReason(message: string): string {
  const buffer = Buffer.from(message, 'utf8');
  return buffer.length <= 123 ? message : `${buffer.subarray(0, 120).toString('utf8')}...`;
}

function rejectUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  return new GraphQLError(error instanceof Error ? error.message : String(error), {
    ...(error instanceof Error ? { originalError: error } : {}),
  });
}

export function attachSubscriptionServer(
  httpServer: HttpServer | HttpsServer,
  options: SubscriptionServerOptions,
): SubscriptionServer {
  const path = options.path ?? '/graphql';
  const limits = resolveServerLimits(options.limits);
  const schema = options.schema ?? options.executor.apiSchema;
  const logger = options.logger.child({ component: 'subscription-server' });
  const formatError = options.formatError ?? defaultSubscriptionErrorFormatter(logger);
  const rules = [...specifiedRules, ...(options.validationRules ?? [])];
  const identities = new WeakMap<WebSocket, Identity>();
  const formatAll = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => formatError(e.toJSON(), e));

  // No permessage-deflate: the socket writer frames events itself (socket-writer.ts).
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    perMessageDeflate: false,
  });
  /** Each client WebSocket's writer, on the socket of its upgrade (socket-writer.ts). */
  const outputs = new WeakMap<WebSocket, ConnectionOutput>();
  /** A `next` payload as graphql-ws sends it, errors formatted like every other error. */
  const payloadOf = (result: ExecutionResult): Record<string, unknown> => {
    const { errors, ...rest } = result;
    return errors ? { ...rest, errors: formatAll(errors) } : rest;
  };
  const socketWriter = createSocketWriter({
    highWaterBytes: limits.outputHighWaterBytes,
    maxLagMs: limits.maxClientLagMs,
    probeIntervalMs: limits.lagProbeIntervalMs,
    serializePayload: (result) => Buffer.from(JSON.stringify(payloadOf(result)), 'utf8'),
  });
  function closeSlowConsumer(socket: WebSocket): void {
    if (socket.readyState !== socket.OPEN) return;
    logger.warn('slow consumer disconnected', { code: SubscriptionCloseCode.SlowConsumer });
    socket.close(SubscriptionCloseCode.SlowConsumer, 'Slow consumer: events were not read fast enough');
    // A client that stopped reading never answers the close frame.
    const timer = setTimeout(() => socket.terminate(), limits.slowConsumerCloseGraceMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  const graphqlWs = useServer<Record<string, unknown>>(
    {
      schema,
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        try {
          const identity = await options.authenticate(ctx.connectionParams ?? {}, request);
          identities.set(socket, identity);
          return true;
        } catch (error) {
          const code = errorCodeOf(error);
          if (code === 'UNAUTHENTICATED' || code === 'INVALID_CREDENTIALS') {
            socket.close(SubscriptionCloseCode.Unauthorized, closeReason((error as Error).message));
          } else if (code !== undefined && code !== 'INTERNAL_SERVER_ERROR') {
            socket.close(SubscriptionCloseCode.Forbidden, closeReason((error as Error).message));
          } else {
            logger.error('subscription authentication failed', { error });
            socket.close(SubscriptionCloseCode.InternalServerError, 'Internal server error');
          }
          // graphql-ws would close with 4403; the socket is already closing with the code above.
          return false;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const { socket } = ctx.extra;
        const identity = identities.get(socket);
        if (!identity) return forGraphqlWs([apiError('UNAUTHENTICATED', 'Connection is not initialised.')]);
        // graphql-ws registers the new operation before this hook: the count includes it.
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          return forGraphqlWs([
            apiError(
              'LIMIT_EXCEEDED',
              `At most ${limits.maxSubscriptionsPerConnection} operations per connection.`,
            ),
          ]);
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return forGraphqlWs([apiError('GRAPHQL_PARSE_FAILED', toGraphQLError(error).message)]);
        }
        const validationErrors = validate(schema, document, rules);
        if (validationErrors.length > 0) {
          return forGraphqlWs(
            validationErrors.map(
              (e) =>
                new GraphQLError(e.message, {
                  ...(e.nodes ? { nodes: e.nodes } : {}),
                  extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
                }),
            ),
          );
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) {
          return forGraphqlWs([
            apiError('OPERATION_RESOLUTION_FAILURE', 'Unable to identify the operation to run.'),
          ]);
        }
        if (operation.operation !== OperationTypeNode.SUBSCRIPTION && !options.executeOperation) {
          return forGraphqlWs([
            apiError(
              'BAD_REQUEST',
              'Only subscriptions are served over WebSocket; send queries and mutations with HTTP POST /graphql.',
            ),
          ]);
        }
        const contextValue: OperationContextValue = {
          identity,
          requestId: randomUUID(),
          socket,
          operationId: id,
        };
        return {
          schema,
          document,
          operationName: payload.operationName ?? operation.name?.value ?? null,
          variableValues: payload.variables ?? {},
          contextValue,
        };
      },
      subscribe: (args) => {
        const context = args.contextValue as OperationContextValue;
        return options.executor.subscribe({
          document: args.document,
          operationName: args.operationName,
          variables: args.variableValues ?? {},
          identity: context.identity,
          requestId: context.requestId,
          onSlowConsumer: () => closeSlowConsumer(context.socket),
          delivery: outputs.get(context.socket)?.delivery(context.operationId),
        });
      },
      execute: async (args) => {
        const context = args.contextValue as OperationContextValue;
        if (!options.executeOperation) throw new Error('executeOperation is not configured.');
        return options.executeOperation({
          document: args.document,
          operationName: args.operationName,
          variables: args.variableValues ?? {},
          identity: context.identity,
          requestId: context.requestId,
        });
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        const errors = (result as ExecutionResult).errors;
        if (!errors || errors.length === 0) return undefined;
        return { ...result, errors: formatAll(errors) };
      },
      // After a socket closed under a running operation (slow consumer, client gone), graphql-ws
      // reports the failed write as an operation error; there is nobody to tell, nothing to log.
      onError: (ctx, _id, _payload, errors) =>
        ctx.extra.socket.readyState === ctx.extra.socket.OPEN
          ? formatAll(errors)
          : [{ message: 'Connection closed.' }],
    },
    wss,
    limits.keepAliveMs,
  );

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path) {
      // Another listener may serve other paths; when we are the only one, answer instead of hanging.
      if (httpServer.listenerCount('upgrade') === 1) rejectUpgrade(socket, '404 Not Found');
      return;
    }
    if (wss.clients.size >= limits.maxConnections) {
      logger.warn('subscription connection refused: server full', { maxConnections: limits.maxConnections });
      rejectUpgrade(socket, '503 Service Unavailable');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const output = socketWriter.connection(socket, () => ws.readyState === ws.OPEN);
      outputs.set(ws, output);
      ws.on('pong', (payload: Buffer) => output.pong(payload));
      ws.once('close', () => output.close());
      wss.emit('connection', ws, request);
    });
  };
  httpServer.on('upgrade', onUpgrade);

  return {
    get connectionCount() {
      return wss.clients.size;
    },
    async close() {
      httpServer.off('upgrade', onUpgrade);
      await graphqlWs.dispose();
    },
  };
}
