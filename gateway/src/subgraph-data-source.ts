/**
 * How the gateway talks to a subgraph: every fetch carries the caller's identity as a short-lived
 * token signed with INTERNAL_TOKEN_SECRET (DESIGN.md rule 9) and the request id; transport failures
 * become registry errors instead of leaking subgraph addresses to clients.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { GraphQLError } from 'graphql';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import {
  anonymous,
  internalIdentityHeader,
  requestIdHeader,
  signInternalIdentity,
  type Identity,
  type Logger,
} from '@graphex/runtime';
import { apiError, errorCodeOf } from '@graphex/schema';
import { randomUUID } from 'node:crypto';

/** What the gateway's resolvers-equivalent (the query plan executor) carries per request. */
export interface GatewayContext {
  readonly identity: Identity;
  readonly requestId: string;
  readonly logger: Logger;
  /** The identity signed for subgraphs: signed once per request, on first use, then reused by every fetch. */
  readonly internalIdentityToken: () => Promise<string>;
}

export interface InternalTokenSigner {
  readonly internalTokenSecret: string;
  readonly internalTokenTtlSeconds: number;
}

/** Returns a memoised signer for one request's identity. */
export function internalIdentityTokenFor(
  identity: Identity,
  signer: InternalTokenSigner,
): () => Promise<string> {
  let token: Promise<string> | undefined;
  return () =>
    (token ??= signInternalIdentity(identity, signer.internalTokenSecret, signer.internalTokenTtlSeconds));
}

export interface SubgraphDataSourceOptions {
  readonly name: string;
  readonly url: string;
  readonly signer: InternalTokenSigner;
  readonly logger: Logger;
  /** A subgraph fetch taking longer than this fails with SERVICE_UNAVAILABLE. */
  readonly timeoutMs: number;
}

class SubgraphTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

const transportErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

function isTransportFailure(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    error.name === 'TimeoutError' ||
    error.name === 'AbortError' ||
    (code !== undefined && transportErrorCodes.has(code)) ||
    (error instanceof TypeError && error.message === 'fetch failed')
  );
}

/** The parts of a fetch Response that RemoteGraphQLDataSource and this data source read. */
function responseOf(url: string, message: IncomingMessage, bodyText: string): FetcherResponse {
  const status = message.statusCode ?? 0;
  const headers = message.headers;
  return {
    url,
    status,
    ok: status >= 200 && status < 300,
    statusText: message.statusMessage ?? '',
    redirected: false,
    headers: {
      get: (name: string) => {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    json: () => new Promise((resolve) => resolve(JSON.parse(bodyText) as unknown)),
    text: () => Promise.resolve(bodyText),
  } as unknown as FetcherResponse;
}

/**
 * POSTs each operation over kept-alive connections with node:http — no web streams and no
 * WHATWG Request/Response per fetch, which cost the gateway more than the rest of a subgraph call —
 * with a deadline; transport failures reject with Node's error codes.
 */
export function createSubgraphFetcher(url: string, timeoutMs: number): Fetcher {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:')
    throw new Error(`Subgraph URL ${url} is neither http nor https.`);
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  return (requestUrl, init) =>
    new Promise<FetcherResponse>((resolve, reject) => {
      const destination = requestUrl === url ? target : new URL(requestUrl);
      const body = typeof init?.body === 'string' ? init.body : '';
      const headers = (init?.headers ?? {}) as Record<string, string>;
      const request = send(
        destination,
        {
          method: 'POST',
          agent,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (message) => {
          const chunks: Buffer[] = [];
          message.on('data', (chunk: Buffer) => chunks.push(chunk));
          message.on('error', fail);
          message.on('end', () => {
            clearTimeout(timer);
            resolve(responseOf(requestUrl, message, Buffer.concat(chunks).toString('utf8')));
          });
        },
      );
      const timer = setTimeout(
        () => request.destroy(new SubgraphTimeoutError(`Subgraph did not answer within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(error);
      }
      request.on('error', fail);
      request.end(body);
    });
}

const unavailableMessage = 'A service this operation needs is unavailable; retry later.';

export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #options: SubgraphDataSourceOptions;

  constructor(options: SubgraphDataSourceOptions) {
    super({ url: options.url, fetcher: createSubgraphFetcher(options.url, options.timeoutMs) });
    this.#options = options;
  }

  override async willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const headers = options.request.http?.headers;
    if (!headers) throw new Error('RemoteGraphQLDataSource sent a request without HTTP headers.');
    const context = options.context as Partial<GatewayContext>;
    // Only incoming operations carry a request context; anything the gateway sends on its own
    // behalf (it sends nothing today: the supergraph is static) goes out as anonymous.
    const token = context.internalIdentityToken
      ? await context.internalIdentityToken()
      : await internalIdentityTokenFor(anonymous, this.#options.signer)();
    headers.set(internalIdentityHeader, token);
    headers.set(requestIdHeader, context.requestId ?? randomUUID());
  }

  /**
   * A subgraph answered with a non-2xx status. Apollo subgraphs do that for variable coercion
   * failures (e.g. a malformed `Decimal` variable: 400 BAD_USER_INPUT), which are the client's fault
   * and keep their code. 401 means the subgraph refused *our* identity token — a configuration fault
   * (INTERNAL_TOKEN_SECRET differs), not the client's: it is masked. The response URL and body never
   * reach the client.
   */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const { name } = this.#options;
    if (response.status === 401) {
      return new GraphQLError(
        `Subgraph ${name} rejected the gateway identity (HTTP 401); is INTERNAL_TOKEN_SECRET the same everywhere?`,
      );
    }
    let body: unknown;
    try {
      body = await this.parseBody(response);
    } catch {
      body = undefined;
    }
    const errors = (body as { errors?: unknown } | undefined)?.errors;
    const coded = (Array.isArray(errors) ? (errors as unknown[]) : []).find((error) => {
      const code = errorCodeOf(error);
      return code !== undefined && code !== 'INTERNAL_SERVER_ERROR';
    }) as { message?: unknown } | undefined;
    if (coded) {
      const message = typeof coded.message === 'string' ? coded.message : 'The request was refused.';
      return apiError(errorCodeOf(coded)!, message);
    }
    if (response.status === 502 || response.status === 503 || response.status === 504) {
      return apiError('SERVICE_UNAVAILABLE', unavailableMessage);
    }
    return new GraphQLError(`Subgraph ${name} answered HTTP ${response.status}.`);
  }

  /** Every failed fetch is logged here, with the request id, then rethrown as what the client may see. */
  override didEncounterError(
    error: Error,
    _fetchRequest: unknown,
    fetchResponse?: FetcherResponse,
    context?: GatewayContext,
  ): void {
    const logger = context?.logger ?? this.#options.logger;
    const subgraph = this.#options.name;
    if (fetchResponse && !fetchResponse.ok) {
      const fields = { subgraph, status: fetchResponse.status, error: error.message };
      if (fetchResponse.status === 401 || fetchResponse.status >= 500)
        logger.error('subgraph fetch failed', fields);
      else logger.debug('subgraph refused the request', fields);
      throw error;
    }
    if (error instanceof GraphQLError) throw error;
    if (isTransportFailure(error)) {
      logger.warn('subgraph unreachable', {
        subgraph,
        url: this.#options.url,
        error: (error as { cause?: unknown }).cause ?? error,
      });
      throw apiError('SERVICE_UNAVAILABLE', unavailableMessage);
    }
    throw error;
  }
}
