/**
 * HTTP client for the security suite: every request can name the client address the gateway sees
 * (the platform runs with GATEWAY_TRUST_PROXY_HOPS=1, so `X-Forwarded-For` is trusted) and send
 * GET requests and protocol extensions (APQ).
 */
import { randomInt } from 'node:crypto';

export interface GatewayReply {
  readonly status: number;
  readonly headers: Headers;
  readonly data?: Record<string, unknown> | null;
  readonly errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
}

export interface RequestOptions {
  readonly query?: string;
  readonly variables?: Record<string, unknown>;
  readonly extensions?: Record<string, unknown>;
  readonly operationName?: string;
  /** Bearer credential. */
  readonly token?: string | undefined;
  /** Raw Authorization header (wins over `token`). */
  readonly authorization?: string;
  /** Client address; a random private one by default, so per-IP budgets do not couple tests. */
  readonly ip?: string;
  readonly method?: 'GET' | 'POST';
}

export function randomIp(): string {
  return `10.${randomInt(200, 250)}.${randomInt(0, 255)}.${randomInt(1, 254)}`;
}

export async function send(url: string, options: RequestOptions): Promise<GatewayReply> {
  const headers: Record<string, string> = {
    accept: 'application/graphql-response+json, application/json',
    'x-forwarded-for': options.ip ?? randomIp(),
  };
  if (options.authorization !== undefined) headers['authorization'] = options.authorization;
  else if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let response: Response;
  if (options.method === 'GET') {
    const target = new URL(url);
    if (options.query !== undefined) target.searchParams.set('query', options.query);
    if (options.variables) target.searchParams.set('variables', JSON.stringify(options.variables));
    if (options.extensions) target.searchParams.set('extensions', JSON.stringify(options.extensions));
    if (options.operationName) target.searchParams.set('operationName', options.operationName);
    response = await fetch(target, { headers });
  } else {
    headers['content-type'] = 'application/json';
    response = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        query: options.query,
        variables: options.variables ?? {},
        ...(options.extensions ? { extensions: options.extensions } : {}),
        ...(options.operationName ? { operationName: options.operationName } : {}),
      }),
    });
  }
  const text = await response.text();
  let body: object;
  try {
    body = JSON.parse(text) as object;
  } catch {
    throw new Error(`Non-JSON response (${response.status}): ${text.slice(0, 300)}`);
  }
  return { status: response.status, headers: response.headers, ...body };
}

export const codeOf = (reply: GatewayReply): unknown => reply.errors?.[0]?.extensions?.['code'];
