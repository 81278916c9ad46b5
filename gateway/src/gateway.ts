/**
 * The gateway process: Apollo Server + Apollo Gateway over the composed supergraph, on a plain
 * node:http server.
 *
 *   POST /graphql, GET /graphql   GraphQL over HTTP (GET: queries only)
 *   GET /graphql (Accept: html)   GraphiQL, from local assets
 *   GET /graphiql/assets/...      GraphiQL's scripts and styles
 *   GET /health                   200 when every subgraph's /health answers 200, else 503
 *
 * The HTTP server is created here and returned, so the graphql-ws server for federated
 * subscriptions can attach to the same port and path (`new WebSocketServer({ server, path })`).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import {
  createLogger,
  headerValue,
  requestIdHeader,
  sendJson,
  serveApollo,
  serviceNames,
  serviceTokenHeader,
  verifyServiceToken,
  subgraphUrl,
  type Logger,
  type PlatformConfig,
  type RunningService,
  type SubgraphName,
} from '@graphex/runtime';
import { createEdgeSecurity } from './auth/edge-security.ts';
import { createErrorFormatter, requestIdOnMaskedErrors } from './errors.ts';
import { createGraphiqlServer, graphiqlAssetsPrefix } from './graphiql/graphiql.ts';
import { checkHealth, type HealthTarget } from './health.ts';
import { prefersHtml } from './http/content-negotiation.ts';
import { legacyJsonStatus } from './http/legacy-json-status.ts';
import { requestIdFor } from './http/request-id.ts';
import { SubgraphDataSource, internalIdentityTokenFor, type GatewayContext } from './subgraph-data-source.ts';
import { readSupergraphSdl, subgraphsOfSupergraph } from './supergraph.ts';
import {
  attachSubscriptionServer,
  authorizationFromConnectionParams,
  createSubscriptionExecutor,
  type FeedPolicy,
} from './subscriptions/index.ts';

export interface GatewayOptions {
  readonly logger?: Logger;
  /** Subgraph URLs by subgraph name; wins over `<NAME>_URL`/`<NAME>_PORT` and the supergraph's URLs. */
  readonly subgraphUrls?: Readonly<Record<string, string>>;
  /** Supergraph SDL to serve; default: the committed `schema/supergraph.graphql`. */
  readonly supergraphSdl?: string;
  /** Port to listen on; default `config.gatewayPort` (PORT). Tests pass 0. */
  readonly port?: number;
  /** Largest accepted request body. */
  readonly maxBodyBytes?: number;
  /** Deadline of each subgraph /health probe. */
  readonly healthTimeoutMs?: number;
  /** Deadline of each subgraph fetch of a query plan. */
  readonly subgraphTimeoutMs?: number;
  /** Environment used for `<NAME>_URL` overrides (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface RunningGateway extends RunningService {
  /** The node:http server, for attaching the WebSocket (graphql-ws) server to the same port. */
  readonly httpServer: http.Server;
  /** Subgraph URLs the gateway actually uses, by name. */
  readonly subgraphUrls: Readonly<Record<string, string>>;
}

/** Limits (TigerBeetle style: a limit on everything). */
export const gatewayDefaults = {
  /** A GraphQL document with variables; orders and queries are far smaller. */
  maxBodyBytes: 256 * 1024,
  healthTimeoutMs: 1_500,
  subgraphTimeoutMs: 15_000,
  /** Slow-client protection on the HTTP server. */
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
} as const;

/**
 * Subscription feeds that are the same for every subscriber: one upstream subscription serves all
 * of them. An order book feed is a SNAPSHOT followed by DELTAs, so a late joiner catches up from
 * the last SNAPSHOT and the DELTAs since (bounded; past the bound a fresh upstream gives a new
 * SNAPSHOT).
 */
export const publicSubscriptionFeeds: Readonly<Record<string, FeedPolicy>> = {
  trades: { public: true },
  ticker: { public: true },
  orderBook: {
    public: true,
    catchUp: {
      retain: (kept, event) =>
        (event.data?.['orderBook'] as { kind?: string } | undefined)?.kind === 'SNAPSHOT'
          ? [event]
          : [...kept, event],
      maxRetainedEvents: 200,
      resyncSlowSubscribers: true,
    },
  },
};

function isPlatformSubgraph(name: string): name is SubgraphName {
  return (serviceNames as readonly string[]).includes(name);
}

function resolveSubgraphUrls(supergraphSdl: string, options: GatewayOptions): Record<string, string> {
  const env = options.env ?? process.env;
  const urls: Record<string, string> = {};
  for (const { name, url } of subgraphsOfSupergraph(supergraphSdl)) {
    urls[name] = options.subgraphUrls?.[name] ?? (isPlatformSubgraph(name) ? subgraphUrl(name, env) : url);
  }
  return urls;
}

/** Wraps an authentication refusal so Apollo answers it with HTTP 401 and a Bearer challenge. */
function unauthenticatedResponse(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: {
      ...error.extensions,
      http: { status: 401, headers: new HeaderMap([['www-authenticate', 'Bearer error="invalid_token"']]) },
    },
  });
}

export async function startGateway(
  config: PlatformConfig,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger('gateway', config.logLevel);
  const supergraphSdl = options.supergraphSdl ?? (await readSupergraphSdl());
  const subgraphUrls = resolveSubgraphUrls(supergraphSdl, options);
  const healthTargets: HealthTarget[] = Object.entries(subgraphUrls).map(([name, url]) => ({ name, url }));
  const maxBodyBytes = options.maxBodyBytes ?? gatewayDefaults.maxBodyBytes;
  const healthTimeoutMs = options.healthTimeoutMs ?? gatewayDefaults.healthTimeoutMs;
  const subgraphTimeoutMs = options.subgraphTimeoutMs ?? gatewayDefaults.subgraphTimeoutMs;

  // Apollo's own messages go to our JSON log lines, not to the console.
  const apolloLogger = {
    debug: (message: unknown) => logger.debug(String(message)),
    info: (message: unknown) => logger.info(String(message)),
    warn: (message: unknown) => logger.warn(String(message)),
    error: (message: unknown) => logger.error(String(message)),
  };
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger: apolloLogger,
    buildService: ({ name }) => {
      const url = subgraphUrls[name];
      if (!url) throw new Error(`The supergraph names subgraph ${name} but no URL is known for it.`);
      return new SubgraphDataSource({ name, url, signer: config, logger, timeoutMs: subgraphTimeoutMs });
    },
  });
  // Authentication, rate limits, scopes, query limits, persisted queries (auth/edge-security.ts).
  const edge = await createEdgeSecurity(config, {
    logger,
    identityUrl: subgraphUrls['identity'],
    ...(options.env ? { env: options.env } : {}),
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    logger: apolloLogger,
    // Analysts explore the schema in GraphiQL; production switches it off unless
    // GATEWAY_INTROSPECTION=true (auth/edge-security.ts).
    introspection: edge.introspection,
    persistedQueries: edge.persistedQueries,
    parseOptions: edge.parseOptions,
    // CSRF prevention guards cookie-authenticated APIs. GraphEx authenticates with the Authorization
    // header, which a cross-site "simple" request cannot carry, so such a request runs as anonymous
    // anyway; keeping the guard would break GraphQL-over-HTTP GET for ordinary clients.
    csrfPrevention: false,
    includeStacktraceInErrorResponses: false,
    // Shutdown belongs to the process owner (runUntilSignal, the test harness): Apollo's own
    // SIGINT/SIGTERM handlers would race it and re-raise the signal.
    stopOnTerminationSignals: false,
    formatError: createErrorFormatter(logger),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      requestIdOnMaskedErrors,
      ...edge.plugins,
    ],
  });
  await apollo.start();

  const graphiql = createGraphiqlServer();

  const contextFor = (request: IncomingMessage, requestId: string) => async (): Promise<GatewayContext> => {
    let admitted;
    try {
      admitted = await edge.admit(request);
    } catch (error) {
      throw error instanceof GraphQLError && error.extensions['code'] === 'UNAUTHENTICATED'
        ? unauthenticatedResponse(error)
        : error;
    }
    const { identity, clientIp } = admitted;
    return edge.bindContext(
      {
        identity,
        requestId,
        logger: logger.child({ requestId }),
        internalIdentityToken: internalIdentityTokenFor(identity, config),
      },
      clientIp,
    );
  };

  const handle = async (
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
  ): Promise<void> => {
    const { pathname } = new URL(request.url ?? '/', 'http://gateway.invalid');
    const method = request.method ?? 'GET';
    if (pathname === '/graphql') {
      if ((method === 'GET' || method === 'HEAD') && prefersHtml(headerValue(request, 'accept'))) {
        await graphiql.servePage(request, response);
        return;
      }
      await serveApollo(apollo, request, response, contextFor(request, requestId), {
        maxBodyBytes,
        adjustStatus: legacyJsonStatus,
      });
      return;
    }
    if (pathname === '/health') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
      const report = await checkHealth(healthTargets, healthTimeoutMs);
      response.setHeader('cache-control', 'no-store');
      sendJson(response, report.status === 'ok' ? 200 : 503, report);
      return;
    }
    if (pathname === '/internal/memory') {
      // For operators and benchmarks (a platform service token): is the gateway's memory bounded?
      if (method !== 'GET') return methodNotAllowed(response, 'GET');
      const caller = await verifyServiceToken(
        headerValue(request, serviceTokenHeader),
        config.internalTokenSecret,
      );
      if (!caller) return sendJson(response, 401, { error: 'A platform service token is required.' });
      const memory = process.memoryUsage();
      response.setHeader('cache-control', 'no-store');
      sendJson(response, 200, {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        heapTotalBytes: memory.heapTotal,
        externalBytes: memory.external,
        arrayBuffersBytes: memory.arrayBuffers,
      });
      return;
    }
    if (
      pathname === '/' &&
      (method === 'GET' || method === 'HEAD') &&
      prefersHtml(headerValue(request, 'accept'))
    ) {
      // A browser pointed at the bare host lands in GraphiQL.
      response.writeHead(302, { location: '/graphql' }).end();
      return;
    }
    if (pathname.startsWith(graphiqlAssetsPrefix)) {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
      if (await graphiql.serveAsset(request, response, pathname)) return;
    }
    sendJson(response, 404, { error: 'Not found: the API is at /graphql, health at /health.' });
  };

  const httpServer = http.createServer(
    { headersTimeout: gatewayDefaults.headersTimeoutMs, requestTimeout: gatewayDefaults.requestTimeoutMs },
    (request, response) => {
      const requestId = requestIdFor(headerValue(request, requestIdHeader));
      response.setHeader(requestIdHeader, requestId);
      handle(request, response, requestId).catch((error: unknown) => {
        logger.error('request failed', { requestId, error });
        if (!response.headersSent) {
          sendJson(response, 500, {
            errors: [
              { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } },
            ],
          });
        } else {
          response.destroy();
        }
      });
    },
  );
  httpServer.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(options.port ?? config.gatewayPort, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await apollo.stop();
    await edge.close();
    throw error;
  }
  // Federated subscriptions over graphql-ws on the same port and path (DESIGN.md "Subscriptions").
  const subscriptions = createSubscriptionExecutor({
    supergraphSdl,
    subgraphUrls,
    logger,
    signIdentity: (identity) => internalIdentityTokenFor(identity, config)(),
    createDataSource: (name, url) =>
      new SubgraphDataSource({ name, url, signer: config, logger, timeoutMs: subgraphTimeoutMs }),
    feeds: publicSubscriptionFeeds,
  });
  const subscriptionServer = attachSubscriptionServer(httpServer, {
    path: '/graphql',
    executor: subscriptions,
    logger,
    authenticate: (connectionParams, request) =>
      edge.admitSubscriber(authorizationFromConnectionParams(connectionParams), request),
    validationRules: edge.subscriptionValidationRules,
    formatError: createErrorFormatter(logger),
  });

  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://${config.host}:${port}/graphql`;
  logger.info('listening', { url, subgraphs: subgraphUrls });

  let closing: Promise<void> | undefined;
  return {
    name: 'gateway',
    url,
    port,
    httpServer,
    subgraphUrls,
    close: () =>
      (closing ??= (async () => {
        await subscriptionServer.close();
        await subscriptions.close();
        await edge.close();
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeIdleConnections();
        });
        await apollo.stop();
      })()),
  };
}

function methodNotAllowed(response: ServerResponse, allow: string): void {
  response.setHeader('allow', allow);
  sendJson(response, 405, { error: `Method not allowed; use ${allow}.` });
}
