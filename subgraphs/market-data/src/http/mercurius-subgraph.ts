/**
 * The mercurius counterpart of the runtime's `startSubgraphService`: serves a federated subgraph on
 * fastify with the same outward behaviour as the Apollo subgraphs — POST/GET /graphql behind the
 * gateway-signed internal identity (missing or invalid → UNAUTHENTICATED, HTTP 401, before the body
 * is read), GET /health (200 when ready), registry error codes, internal errors masked and logged
 * with the request id.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyRequest } from 'fastify';
import { GraphQLError, parse, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { mercuriusFederationPlugin } from '@mercuriusjs/federation';
import {
  internalIdentityHeader,
  maskError,
  requestIdHeader,
  verifyInternalIdentity,
  type BaseRequestContext,
  type Identity,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { errorCodeOf, type ErrorCode } from '@graphex/schema';
import {
  serveSubscriptions,
  type SubscriptionServer,
  type SubscriptionServerLimits,
} from './subscription-server.ts';

/** A Subscription field's `subscribe` (returns an AsyncIterable) and `resolve` (maps each event). */
export interface SubscriptionFieldResolver {
  readonly subscribe: (...args: never[]) => unknown;
  readonly resolve?: (...args: never[]) => unknown;
}

export interface MercuriusSubgraphOptions<TContext extends BaseRequestContext> {
  readonly name: string;
  /** The subgraph SDL, served verbatim as `_service { sdl }`. */
  readonly sdl: string;
  /** Resolvers in the Apollo convention; `__resolveReference(reference, context, info)`. */
  readonly resolvers: Record<string, unknown>;
  readonly port: number;
  readonly config: PlatformConfig;
  readonly logger: Logger;
  readonly createContext: (base: BaseRequestContext) => TContext;
  readonly isReady?: () => Promise<boolean>;
  readonly onClose?: () => Promise<void>;
  readonly maxBodyBytes?: number;
  /** Subscription fields served over graphql-ws on the same path (see subscription-server.ts). */
  readonly subscriptions?: {
    readonly resolvers: Readonly<Record<string, SubscriptionFieldResolver>>;
    readonly limits?: Partial<SubscriptionServerLimits>;
  };
}

/** Token limit of a document (a bound on parser work per request). */
const maxQueryTokens = 5_000;
const maxParsedQueriesCached = 1_000;

type ApolloReferenceResolver = (reference: unknown, context: unknown, info: unknown) => unknown;

/**
 * mercurius calls `resolveReference(reference, args, context, info)` (an extra `args` slot), while
 * the generated resolver types and @apollo/subgraph use `(reference, context, info)`. Adapting here
 * keeps the resolvers typed by codegen and portable.
 */
export function toMercuriusResolvers(resolvers: Record<string, unknown>): Record<string, unknown> {
  const adapted: Record<string, unknown> = {};
  for (const [typeName, typeResolvers] of Object.entries(resolvers)) {
    const resolveReference =
      typeof typeResolvers === 'object' && typeResolvers !== null
        ? (typeResolvers as { __resolveReference?: unknown }).__resolveReference
        : undefined;
    if (typeof resolveReference !== 'function') {
      adapted[typeName] = typeResolvers;
      continue;
    }
    const apolloStyle = resolveReference as ApolloReferenceResolver;
    adapted[typeName] = {
      ...(typeResolvers as object),
      __resolveReference: (reference: unknown, _args: unknown, context: unknown, info: unknown) =>
        apolloStyle(reference, context, info),
    };
  }
  return adapted;
}

/**
 * mercurius (CommonJS) and this module (ESM) load graphql's CJS and ESM builds, so `instanceof
 * GraphQLError` fails across the boundary (dual-package hazard); recognise them by name instead.
 */
function isGraphQLError(value: unknown): value is GraphQLError {
  return (
    value instanceof Error &&
    value.name === 'GraphQLError' &&
    typeof (value as GraphQLError).toJSON === 'function'
  );
}

interface RequestLevelError {
  readonly statusCode?: unknown;
  readonly code?: unknown;
  readonly errors?: unknown;
}

function registryCodeDeep(error: unknown): ErrorCode | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = errorCodeOf(current);
    if (code) return code;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/**
 * Code for a document or request problem mercurius reports without a registry code. Its
 * MER_ERR_GQL_VALIDATION also wraps HTTP-level problems (body shape, variables that are not JSON);
 * only GraphQLErrors inside it are about the document.
 */
function requestErrorCode(wrapperCode: unknown, inner: unknown): ErrorCode {
  if (wrapperCode !== 'MER_ERR_GQL_VALIDATION' || !isGraphQLError(inner)) return 'BAD_REQUEST';
  const message = inner.message;
  if (message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  // Variable coercion failures, as @apollo/server reports them.
  if (message.startsWith('Variable "$')) return 'BAD_USER_INPUT';
  return 'GRAPHQL_VALIDATION_FAILED';
}

interface Formatted {
  readonly statusCode: number;
  readonly errors: GraphQLFormattedError[];
}

/**
 * Formats mercurius errors with the platform rules. Request-level failures (parse, validation,
 * variables, method, body) arrive wrapped with a status code and a nested `errors` list; resolver
 * errors arrive as GraphQLErrors. Everything passes through the runtime's `maskError`.
 */
export function formatMercuriusErrors(
  errors: readonly GraphQLError[],
  hasData: boolean,
  { logger, requestId }: { logger: Logger; requestId: string | undefined },
): Formatted {
  let requestStatus: number | undefined;
  const formatted: GraphQLFormattedError[] = [];
  const push = (error: unknown, code: ErrorCode | undefined): void => {
    const graphQLError = isGraphQLError(error)
      ? error
      : new GraphQLError(String((error as Error)?.message ?? error));
    const base = graphQLError.toJSON();
    const withCode: GraphQLFormattedError = code
      ? { ...base, extensions: { ...base.extensions, code } }
      : base;
    formatted.push(maskError(withCode, code ? withCode : error, { logger, requestId }));
  };
  for (const error of errors) {
    const wrapper = error.originalError as (Error & RequestLevelError) | undefined;
    const status = typeof wrapper?.statusCode === 'number' ? wrapper.statusCode : undefined;
    const nested = Array.isArray(wrapper?.errors) ? (wrapper.errors as unknown[]) : undefined;
    if (status !== undefined && status >= 400 && status < 500) requestStatus ??= status;
    if (nested) {
      for (const inner of nested)
        push(inner, registryCodeDeep(inner) ?? requestErrorCode(wrapper?.code, inner));
      continue;
    }
    const code = registryCodeDeep(error);
    if (code) push(error, code);
    else if (status !== undefined && status >= 400 && status < 500) push(error, 'BAD_REQUEST');
    else push(error, undefined);
  }
  return { statusCode: hasData ? 200 : (requestStatus ?? 200), errors: formatted };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function startMercuriusSubgraph<TContext extends BaseRequestContext>(
  options: MercuriusSubgraphOptions<TContext>,
): Promise<RunningService> {
  const { config, logger } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes ?? 1_000_000,
    return503OnClosing: true,
  });
  const identities = new WeakMap<FastifyRequest, { identity: Identity; requestId: string }>();

  app.get('/health', async (_request, reply) => {
    const ready = options.isReady ? await options.isReady().catch(() => false) : true;
    return reply.code(ready ? 200 : 503).send({ service: options.name, status: ready ? 'ok' : 'starting' });
  });

  // Zero trust (DESIGN.md rule 9): verify the gateway's signature before anything else, body included.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== '/graphql') return;
    const requestId = header(request, requestIdHeader) ?? randomUUID();
    try {
      const identity = await verifyInternalIdentity(
        header(request, internalIdentityHeader),
        config.internalTokenSecret,
      );
      identities.set(request, { identity, requestId });
    } catch (error) {
      const code = errorCodeOf(error);
      if (code !== 'UNAUTHENTICATED') throw error;
      return reply.code(401).send({ errors: [{ message: (error as Error).message, extensions: { code } }] });
    }
    return undefined;
  });

  // mercurius falls back to reading an unparsable query as a JSON-encoded AST, which turns
  // garbage like "123" into an internal error. Only GraphQL source text is accepted here.
  const parsedQueries = new Set<string>();
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== '/graphql') return undefined;
    const source =
      request.method === 'GET'
        ? (request.query as { query?: unknown } | undefined)?.query
        : (request.body as { query?: unknown } | undefined)?.query;
    if (typeof source !== 'string' || parsedQueries.has(source)) return undefined;
    try {
      parse(source, { maxTokens: maxQueryTokens });
    } catch (error) {
      const message = isGraphQLError(error) ? error.message : 'The query is not GraphQL source text.';
      return reply.code(400).send({ errors: [{ message, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
    }
    // Bounded memo of known-good documents so hot queries are not parsed twice per request.
    if (parsedQueries.size >= maxParsedQueriesCached) parsedQueries.clear();
    parsedQueries.add(source);
    return undefined;
  });

  const contextOf = (request: FastifyRequest): TContext => {
    const verified = identities.get(request);
    // onRequest answered 401 for every /graphql request without a verified identity.
    if (!verified) throw new Error('GraphQL request reached execution without a verified identity');
    return options.createContext({
      identity: verified.identity,
      requestId: verified.requestId,
      logger: logger.child({ requestId: verified.requestId }),
    });
  };

  await app.register(mercuriusFederationPlugin, {
    schema: options.sdl,
    resolvers: toMercuriusResolvers(options.resolvers) as never,
    path: '/graphql',
    graphiql: false,
    allowBatchedQueries: false,
    graphql: { parseOptions: { maxTokens: maxQueryTokens } },
    context: (request) => contextOf(request),
    errorFormatter: (
      execution: ExecutionResult & { errors: readonly GraphQLError[] },
      mercuriusContext: object,
    ) => {
      // Errors raised before the context exists (body parsing) come with mercurius' bare context.
      const context = mercuriusContext as Partial<BaseRequestContext> | undefined;
      const { statusCode, errors } = formatMercuriusErrors(execution.errors, execution.data != null, {
        logger: context?.logger ?? logger,
        requestId: context?.requestId,
      });
      return {
        statusCode,
        response:
          execution.data == null && statusCode >= 400 ? { errors } : { data: execution.data ?? null, errors },
      };
    },
  });

  // mercurius' own subscription support stays off (its defineResolvers would treat the fields as
  // plain resolvers); the fields get their subscribe/resolve on the executable schema instead.
  const schema = app.graphql.schema;
  if (options.subscriptions) {
    const fields = schema.getSubscriptionType()?.getFields() ?? {};
    for (const [name, resolver] of Object.entries(options.subscriptions.resolvers)) {
      const field = fields[name];
      if (!field) throw new Error(`Subscription.${name} is not in the schema`);
      field.subscribe = resolver.subscribe as never;
      if (resolver.resolve) field.resolve = resolver.resolve as never;
    }
  }

  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send({ error: 'Not found: this service answers on /graphql and /health.' });
  });

  await app.listen({ port: options.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${config.host}:${port}/graphql`;
  logger.info('listening', { url });

  let subscriptionServer: SubscriptionServer | undefined;
  if (options.subscriptions)
    subscriptionServer = serveSubscriptions({
      server: app.server,
      path: '/graphql',
      schema,
      internalTokenSecret: config.internalTokenSecret,
      logger,
      createContext: options.createContext,
      ...(options.subscriptions.limits ? { limits: options.subscriptions.limits } : {}),
    });

  let closing: Promise<void> | undefined;
  return {
    name: options.name,
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        await subscriptionServer?.close();
        await app.close();
        await options.onClose?.();
      })()),
  };
}
