/**
 * The default data source for rest-of-plan fetches: one HTTP POST per fetch to the subgraph, with
 * the subscriber's gateway-signed identity and a request id, under a deadline. The HTTP gateway
 * may pass its own data sources instead (`createDataSource`); this one exists so the engine stands
 * alone.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { internalIdentityHeader, requestIdHeader } from '@graphex/runtime';
import type { SubscriptionFetchContext } from './event-execution.ts';

type GatewayResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

const unavailable: GatewayResponse = {
  errors: [
    {
      message: 'A service this subscription needs is unavailable; retry later.',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    },
  ],
} as GatewayResponse;

function isTransportFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'TimeoutError' ||
    error.name === 'AbortError' ||
    (error instanceof TypeError && error.message === 'fetch failed')
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function createHttpSubgraphDataSource(options: {
  readonly name: string;
  readonly url: string;
  readonly timeoutMs: number;
}): GraphQLDataSource {
  return {
    async process(processOptions: GraphQLDataSourceProcessOptions): Promise<GatewayResponse> {
      const context = processOptions.context as Partial<SubscriptionFetchContext>;
      if (!context.internalIdentityToken || !context.requestId) {
        throw new Error(`Fetch to ${options.name} without a subscription fetch context.`);
      }
      const { request } = processOptions;
      const body = JSON.stringify({
        query: request.query,
        variables: request.variables,
        ...(request.operationName ? { operationName: request.operationName } : {}),
      });
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            [internalIdentityHeader]: await context.internalIdentityToken(),
            [requestIdHeader]: context.requestId,
          },
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        if (isTransportFailure(error)) {
          context.logger?.warn('subscription rest fetch failed', { subgraph: options.name, error });
          return unavailable;
        }
        throw error;
      }
      if (response.status === 401) {
        // The subgraph refused *our* token: a configuration fault (secrets differ), masked to clients.
        throw new Error(`Subgraph ${options.name} rejected the gateway identity (HTTP 401).`);
      }
      let parsed: unknown;
      try {
        parsed = await response.json();
      } catch (error) {
        if (isTransportFailure(error)) return unavailable;
        throw new Error(`Subgraph ${options.name} answered HTTP ${response.status} without a JSON body.`, {
          cause: error,
        });
      }
      // GraphQL-over-HTTP answers 4xx with a JSON body of errors (e.g. variable coercion); those
      // errors keep their codes. Anything else that is not a GraphQL response is our fault.
      if (!isRecord(parsed) || !('data' in parsed || 'errors' in parsed)) {
        throw new Error(`Subgraph ${options.name} answered HTTP ${response.status} with a non-GraphQL body.`);
      }
      return parsed as GatewayResponse;
    },
  };
}
