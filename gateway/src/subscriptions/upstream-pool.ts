/**
 * graphql-ws connections from the gateway to subgraphs. One connection per (subgraph, identity
 * scope), multiplexing every upstream subscription of that scope; the scope's gateway-signed
 * identity goes in `connection_init` (`connectionParams["x-graphex-identity"]`) and in the HTTP
 * upgrade request (`x-graphex-identity` header), so a subgraph can verify either. A connection is
 * reference-counted by its subscriptions and disposed with the last one. No retries: a lost
 * connection ends its subscriptions with an error, and clients resubscribe (book streams then restart
 * from a fresh SNAPSHOT instead of silently missing events).
 */
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { internalIdentityHeader, type Logger } from '@graphex/runtime';
import { apiError } from '@graphex/schema';

export interface UpstreamSink {
  next(event: FormattedExecutionResult<Record<string, unknown>, unknown>): void;
  /** The upstream failed; `error` is what subscribers should see (a registry code or masked). */
  error(error: GraphQLError): void;
  complete(): void;
}

export interface UpstreamRequest {
  readonly serviceName: string;
  readonly url: string;
  /** Connections are shared by requests with the same scope key (`public` or one identity). */
  readonly scopeKey: string;
  /** Signs the identity of the scope; called once per connection. */
  readonly signToken: () => Promise<string>;
  readonly query: string;
  readonly variables: Readonly<Record<string, unknown>>;
}

interface PooledConnection {
  readonly client: Promise<Client>;
  subscriptions: number;
}

export interface UpstreamPool {
  /** Starts a subscription; the returned function stops it (idempotent). */
  subscribe(request: UpstreamRequest, sink: UpstreamSink): () => void;
  readonly connectionCount: number;
  dispose(): Promise<void>;
}

/** `http://host/graphql` → `ws://host/graphql` (ws and wss URLs are kept). */
export function webSocketUrlOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  else if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new Error(`Subgraph URL ${url} is neither http(s) nor ws(s).`);
  }
  return parsed.toString();
}

function isFormattedErrors(value: unknown): value is readonly GraphQLFormattedError[] {
  return Array.isArray(value) && value.length > 0 && value.every((e) => typeof e?.message === 'string');
}

function closeCodeOf(value: unknown): number | undefined {
  const code = (value as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function createUpstreamPool(options: {
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  readonly ackTimeoutMs: number;
  readonly keepAliveMs: number;
  /** Tests may count or fail upgrades; defaults to `ws`. */
  readonly webSocketImpl?: typeof WebSocket;
}): UpstreamPool {
  const { logger } = options;
  const BaseWebSocket = options.webSocketImpl ?? WebSocket;
  const connections = new Map<string, PooledConnection>();

  function connect(request: UpstreamRequest): Promise<Client> {
    return request.signToken().then((firstToken) => {
      const url = webSocketUrlOf(request.url);
      const maxPayload = options.maxMessageBytes;
      // The upgrade header carries the token signed before connecting; `connection_init` re-signs.
      const keepAliveMs = options.keepAliveMs;
      class IdentifiedWebSocket extends BaseWebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { [internalIdentityHeader]: firstToken }, maxPayload });
          // Protocol-level ping/pong (answered by any ws server): detects a subgraph that vanished
          // without closing the TCP connection.
          let answered = true;
          let timer: NodeJS.Timeout | undefined;
          this.on('open', () => {
            timer = setInterval(() => {
              if (!answered) {
                this.terminate();
                return;
              }
              answered = false;
              this.ping();
            }, keepAliveMs);
            timer.unref();
          });
          this.on('pong', () => {
            answered = true;
          });
          this.on('close', () => clearInterval(timer));
        }
      }
      let usedFirstToken = false;
      return createClient({
        url,
        webSocketImpl: IdentifiedWebSocket,
        lazy: true,
        lazyCloseTimeout: 0,
        retryAttempts: 0,
        connectionAckWaitTimeout: options.ackTimeoutMs,
        connectionParams: async () => {
          const token = usedFirstToken ? await request.signToken() : firstToken;
          usedFirstToken = true;
          return { [internalIdentityHeader]: token };
        },
        on: {
          closed: (event) => {
            const code = closeCodeOf(event);
            if (code !== 1000)
              logger.debug('subgraph subscription socket closed', { subgraph: request.serviceName, code });
          },
        },
      });
    });
  }

  function toSubscriberError(request: UpstreamRequest, failure: unknown): GraphQLError {
    if (isFormattedErrors(failure)) {
      // The subgraph refused the operation (`error` message). Registry codes reach the client;
      // anything else (e.g. validation errors after schema drift) is masked by the formatter.
      const first = failure[0] as GraphQLFormattedError;
      return new GraphQLError(first.message, {
        extensions: { ...first.extensions, serviceName: request.serviceName },
      });
    }
    const code = closeCodeOf(failure);
    if (code === 4401 || code === 4403) {
      logger.error(
        'subgraph refused the gateway identity on its WebSocket; is INTERNAL_TOKEN_SECRET the same everywhere?',
        {
          subgraph: request.serviceName,
          code,
        },
      );
      return new GraphQLError(
        `Subgraph ${request.serviceName} refused the gateway identity (close ${code}).`,
      );
    }
    logger.warn('subgraph subscription lost', {
      subgraph: request.serviceName,
      code,
      error: failure instanceof Error ? failure : undefined,
    });
    return apiError('SERVICE_UNAVAILABLE', 'The source of this subscription went away; resubscribe.');
  }

  return {
    get connectionCount() {
      return connections.size;
    },

    subscribe(request, sink) {
      const key = `${request.serviceName}\u0000${request.scopeKey}`;
      let connection = connections.get(key);
      if (!connection) {
        connection = { client: connect(request), subscriptions: 0 };
        connections.set(key, connection);
      }
      const pooled = connection;
      pooled.subscriptions += 1;
      let stopped = false;
      let unsubscribe: (() => void) | undefined;

      const release = (): void => {
        if (stopped) return;
        stopped = true;
        unsubscribe?.();
        pooled.subscriptions -= 1;
        if (pooled.subscriptions < 0) throw new Error('Upstream connection reference count below zero.');
        if (pooled.subscriptions === 0) {
          if (connections.get(key) === pooled) connections.delete(key);
          void pooled.client.then(
            (client) => client.dispose(),
            () => undefined,
          );
        }
      };

      pooled.client.then(
        (client) => {
          if (stopped) return;
          unsubscribe = client.subscribe<Record<string, unknown>>(
            { query: request.query, variables: { ...request.variables } },
            {
              next: (value) => {
                if (!stopped) sink.next(value);
              },
              error: (failure) => {
                if (stopped) return;
                const error = toSubscriberError(request, failure);
                release();
                sink.error(error);
              },
              complete: () => {
                if (stopped) return;
                release();
                sink.complete();
              },
            },
          );
        },
        (signFailure: unknown) => {
          if (stopped) return;
          logger.error('could not sign the identity for a subgraph subscription', { error: signFailure });
          release();
          sink.error(new GraphQLError('Could not sign the gateway identity.'));
        },
      );
      return release;
    },

    async dispose() {
      const pending = [...connections.values()];
      connections.clear();
      await Promise.all(
        pending.map((c) =>
          c.client.then(
            (client) => client.dispose(),
            () => undefined,
          ),
        ),
      );
    },
  };
}
