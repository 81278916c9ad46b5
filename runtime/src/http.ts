/**
 * Minimal node:http plumbing shared by the gateway and the Apollo subgraphs: bounded body reads,
 * JSON replies, and the adapter from node requests to Apollo Server's HTTP entry point.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Reads the request body, refusing more than `limitBytes` (TigerBeetle style: a limit on everything). */
export async function readBody(request: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new BodyTooLargeError(`Request body exceeds ${limitBytes} bytes.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limitBytes) throw new BodyTooLargeError(`Request body exceeds ${limitBytes} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Serves one request with Apollo Server. The body is parsed here (JSON only, bounded); Apollo does
 * the GraphQL-over-HTTP semantics (methods, content types, status codes).
 */
export async function serveApollo<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  request: IncomingMessage,
  response: ServerResponse,
  context: () => Promise<TContext>,
  limits: {
    readonly maxBodyBytes: number;
    /** Last say on the HTTP status of a complete (non-streamed) response, e.g. the gateway's legacy `application/json` policy. */
    readonly adjustStatus?: (status: number, contentType: string | undefined, body: string) => number;
  },
): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  let body: unknown = undefined;
  if (request.method === 'POST') {
    let text: string;
    try {
      text = await readBody(request, limits.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        // The rest of the upload is not read: close the connection instead of draining it.
        response.setHeader('connection', 'close');
        sendJson(response, 413, {
          errors: [{ message: error.message, extensions: { code: 'BAD_REQUEST' } }],
        });
        return;
      }
      throw error;
    }
    const contentType = headers.get('content-type') ?? '';
    if (contentType.includes('json') && text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        sendJson(response, 400, {
          errors: [{ message: 'Request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }],
        });
        return;
      }
    } else {
      body = text;
    }
  }
  const url = new URL(request.url ?? '/', 'http://localhost');
  const result = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
    context,
  });
  for (const [key, value] of result.headers) response.setHeader(key, value);
  response.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    if (limits.adjustStatus) {
      response.statusCode = limits.adjustStatus(
        response.statusCode,
        result.headers.get('content-type'),
        result.body.string,
      );
    }
    response.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}
