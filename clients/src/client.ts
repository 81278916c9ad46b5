/**
 * Typed GraphQL client for GraphEx: operations are the generated TypedDocumentNodes of
 * `clients/src/operations/*.graphql`, so variables and results are checked at compile time.
 */
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

export interface GraphExError {
  readonly message: string;
  readonly path?: ReadonlyArray<string | number>;
  readonly extensions?: { readonly code?: string; readonly [key: string]: unknown };
}

export class GraphExRequestError extends Error {
  override name = 'GraphExRequestError';
  readonly errors: readonly GraphExError[];
  readonly status: number;
  constructor(errors: readonly GraphExError[], status: number) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
    this.errors = errors;
    this.status = status;
  }
  /** The registry code of the first error (see docs/errors.md). */
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

export interface GraphExClientOptions {
  /** Gateway endpoint, e.g. http://127.0.0.1:4000/graphql */
  readonly url: string;
  /** Access token or API key; sent as `Authorization: Bearer …`. */
  readonly token?: string | undefined;
  readonly fetch?: typeof fetch;
}

export interface GraphExClient {
  request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...variables: Record<string, never> extends TVariables
      ? [variables?: TVariables]
      : [variables: TVariables]
  ): Promise<TResult>;
  withToken(token: string | undefined): GraphExClient;
}

export function createClient(options: GraphExClientOptions): GraphExClient {
  const doFetch = options.fetch ?? fetch;
  const printed = new WeakMap<object, string>();
  return {
    async request(document, ...rest) {
      let query = printed.get(document);
      if (query === undefined) printed.set(document, (query = print(document)));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
      };
      if (options.token) headers['authorization'] = `Bearer ${options.token}`;
      const response = await doFetch(options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables: rest[0] ?? {} }),
      });
      const body = (await response.json()) as { data?: unknown; errors?: GraphExError[] };
      if (body.errors?.length) throw new GraphExRequestError(body.errors, response.status);
      if (body.data === undefined || body.data === null) {
        throw new GraphExRequestError(
          [{ message: `Empty response (HTTP ${response.status})` }],
          response.status,
        );
      }
      return body.data as never;
    },
    withToken: (token) => createClient({ ...options, token }),
  };
}
