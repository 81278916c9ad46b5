/**
 * Error masking shared by every GraphQL server in the platform. Errors carrying a registry code
 * reach the client as they are (minus stack traces); anything else is an internal failure: it is
 * logged with the request id and the client gets INTERNAL_SERVER_ERROR and that id, nothing more.
 */
import type { GraphQLFormattedError } from 'graphql';
import { errorCodeOf } from '@graphex/schema';
import type { Logger } from './logger.ts';

/** Walks `originalError` links (GraphQLError → thrown error) to find a registry code. */
function registryCodeDeep(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = errorCodeOf(current);
    if (code) return code;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

export interface MaskOptions {
  readonly logger: Logger;
  /** Request id of the failing request, when known. */
  readonly requestId?: string | undefined;
}

/** Formats one error for a client. */
export function maskError(
  formatted: GraphQLFormattedError,
  original: unknown,
  { logger, requestId }: MaskOptions,
): GraphQLFormattedError {
  const code = registryCodeDeep(original) ?? errorCodeOf(formatted);
  if (code && code !== 'INTERNAL_SERVER_ERROR') {
    const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions: { ...extensions, code } };
  }
  const id =
    requestId ??
    ((original as { extensions?: { requestId?: string } } | undefined)?.extensions?.requestId as
      string | undefined) ??
    crypto.randomUUID();
  logger.error('internal error', {
    requestId: id,
    error: (original as { originalError?: unknown })?.originalError ?? original,
    path: formatted.path,
  });
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: id },
  };
}
