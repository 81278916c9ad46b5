/**
 * GraphQL over HTTP, legacy watershed: a client that accepts only `application/json` treats any
 * non-2xx as a transport failure, so a well-formed request whose document fails to parse or
 * validate, or whose variables fail coercion, SHOULD get 200 with the errors in the body. Clients
 * that accept `application/graphql-response+json` keep Apollo Server's 4xx.
 */

/** Codes of request errors (the operation never executed) that the rule covers. */
const requestErrorCodes: ReadonlySet<string> = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
]);

export function legacyJsonStatus(status: number, contentType: string | undefined, body: string): number {
  if (status !== 400 || !contentType?.startsWith('application/json')) return status;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return status;
  }
  if (typeof parsed !== 'object' || parsed === null || 'data' in parsed) return status;
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return status;
  const allRequestErrors = errors.every((error: unknown) => {
    const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
    return typeof code === 'string' && requestErrorCodes.has(code);
  });
  return allRequestErrors ? 200 : status;
}
