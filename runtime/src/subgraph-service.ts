/**
 * Boots an Apollo subgraph as its own HTTP service: POST/GET /graphql (gateway-signed identity
 * required), GET /health (200 when ready). Every service in the platform starts through here or
 * through the mercurius equivalent in market-data, so they behave alike.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { GraphQLSchema } from 'graphql';
import { GraphQLError } from 'graphql';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import {
  internalIdentityHeader,
  requestIdHeader,
  verifyInternalIdentity,
  type Identity,
} from './auth/identity.ts';
import type { PlatformConfig } from './config.ts';
import { maskError } from './errors.ts';
import { headerValue, sendJson, serveApollo } from './http.ts';
import type { Logger } from './logger.ts';
import { attachSubscriptionServer, type SubgraphSubscriptionOptions } from './subscription-server.ts';

/** What every resolver of every subgraph receives. Subgraphs extend it with their own services. */
export interface BaseRequestContext {
  readonly identity: Identity;
  readonly requestId: string;
  readonly logger: Logger;
}

export interface RunningService {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface SubgraphServiceOptions<TContext extends BaseRequestContext> {
  readonly name: string;
  readonly schema: GraphQLSchema;
  readonly port: number;
  readonly config: PlatformConfig;
  readonly logger: Logger;
  /** Adds the subgraph's own services (repositories, clock, ...) to the base context. */
  readonly createContext: (base: BaseRequestContext) => TContext | Promise<TContext>;
  /** Readiness probe for /health; defaults to ready. */
  readonly isReady?: () => Promise<boolean>;
  /** Called after the HTTP server closed (close the database here). */
  readonly onClose?: () => Promise<void>;
  readonly maxBodyBytes?: number;
  /**
   * Serve the schema's Subscription fields over graphql-ws on the same /graphql path (identity
   * from `connection_init`, see subscription-server.ts). Off when absent.
   */
  readonly subscriptions?: SubgraphSubscriptionOptions;
  /**
   * Plain HTTP routes beside /graphql (e.g. identity's internal endpoints and signed webhooks), by
   * exact path. Each handler authenticates its callers itself; bodies are read by the handler.
   */
  readonly routes?: Readonly<
    Record<string, (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void>>
  >;
}

export async function startSubgraphService<TContext extends BaseRequestContext>(
  options: SubgraphServiceOptions<TContext>,
): Promise<RunningService> {
  const { logger, config } = options;
  const errorLogging: ApolloServerPlugin<TContext> = {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          // Tag each error with the request id so the masked client error and the log line match.
          for (const error of errors) {
            const extensions = error.extensions as Record<string, unknown>;
            if (!extensions['code'] && contextValue?.requestId)
              extensions['requestId'] = contextValue.requestId;
          }
        },
      };
    },
  };
  const server = new ApolloServer<TContext>({
    schema: options.schema,
    introspection: true,
    csrfPrevention: true,
    // runUntilSignal owns SIGINT/SIGTERM; Apollo's own handlers would stop the server first and
    // re-raise the signal, so our close() then waited on an already-stopped server until the
    // 10s shutdown timer killed the process.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // No usage reporting anywhere, so no federated traces (and no start-up notice on stdout).
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), errorLogging],
    formatError: (formatted, error) => maskError(formatted, error, { logger }),
  });
  await server.start();

  const maxBodyBytes = options.maxBodyBytes ?? 1_000_000;
  const httpServer = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const handle = async (): Promise<void> => {
      if (url.pathname === '/health') {
        const ready = options.isReady ? await options.isReady().catch(() => false) : true;
        sendJson(response, ready ? 200 : 503, { service: options.name, status: ready ? 'ok' : 'starting' });
        return;
      }
      const route =
        options.routes && Object.hasOwn(options.routes, url.pathname)
          ? options.routes[url.pathname]
          : undefined;
      if (route) {
        await route(request, response);
        return;
      }
      if (url.pathname !== '/graphql') {
        sendJson(response, 404, { error: 'Not found: this service answers on /graphql and /health.' });
        return;
      }
      const requestId = headerValue(request, requestIdHeader) ?? randomUUID();
      await serveApollo(
        server,
        request,
        response,
        async () => {
          let identity: Identity;
          try {
            identity = await verifyInternalIdentity(
              headerValue(request, internalIdentityHeader),
              config.internalTokenSecret,
            );
          } catch (error) {
            if (error instanceof GraphQLError) {
              throw new GraphQLError(error.message, {
                extensions: { ...error.extensions, http: { status: 401 } },
              });
            }
            throw error;
          }
          return options.createContext({ identity, requestId, logger: logger.child({ requestId }) });
        },
        { maxBodyBytes },
      );
    };
    handle().catch((error: unknown) => {
      logger.error('request failed', { error });
      if (!response.headersSent)
        sendJson(response, 500, {
          errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
        });
      else response.end();
    });
  });
  httpServer.keepAliveTimeout = 65_000;
  const subscriptionServer = options.subscriptions
    ? attachSubscriptionServer(httpServer, {
        ...options.subscriptions,
        schema: options.schema,
        internalTokenSecret: config.internalTokenSecret,
        logger,
        createContext: options.createContext,
      })
    : undefined;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://${config.host}:${port}/graphql`;
  logger.info('listening', { url });

  let closing: Promise<void> | undefined;
  return {
    name: options.name,
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        await subscriptionServer?.close();
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeIdleConnections();
        });
        await server.stop();
        await options.onClose?.();
      })()),
  };
}
