/**
 * What clients see of errors. Registry codes pass through — including those raised by subgraphs,
 * which @apollo/gateway re-raises with the subgraph's `extensions` plus a `serviceName` — and
 * anything else is masked to INTERNAL_SERVER_ERROR with the request id, the details going to the log
 * (runtime `maskError`). Extensions that describe our internals are removed on the way out.
 */
import type { GraphQLFormattedError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { maskError, type Logger } from '@graphex/runtime';
import { errorCodeOf } from '@graphex/schema';
import type { GatewayContext } from './subgraph-data-source.ts';

/**
 * Extension keys never sent to clients: which subgraph failed (`serviceName`), a subgraph's raw HTTP
 * response (`response`: URL, status, body), stack traces, and Apollo's own HTTP hints.
 */
const internalExtensionKeys = ['serviceName', 'response', 'stacktrace', 'exception', 'http'] as const;

export function createErrorFormatter(
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
 * Tags errors that will be masked with the request id, so the masked error a client gets and the
 * log line written by `maskError` name the same request (Apollo's `formatError` has no context).
 */
export const requestIdOnMaskedErrors: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ errors, contextValue }) {
        if (!contextValue?.requestId) return;
        for (const error of errors) {
          const code = errorCodeOf(error);
          if (code === undefined || code === 'INTERNAL_SERVER_ERROR') {
            (error.extensions as Record<string, unknown>)['requestId'] = contextValue.requestId;
          }
        }
      },
    };
  },
};
