/** Errors raised at the edge carry the registry's HTTP status (Apollo reads `extensions.http`). */
import { HeaderMap } from '@apollo/server';
import { apiError, errorRegistry, type ErrorCode } from '@graphex/schema';
import type { GraphQLError } from 'graphql';

export function edgeError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
  headers: ReadonlyArray<[string, string]> = [],
): GraphQLError {
  return apiError(code, message, {
    ...extensions,
    http: { status: errorRegistry[code].httpStatus, headers: new HeaderMap([...headers]) },
  });
}
