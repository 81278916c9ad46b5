/**
 * The matching core as its own service (`npm run start:matching-core`): hosts the core in a worker
 * thread (in-process CoreClient) and serves it to the subgraphs over one WebSocket per client.
 * Zero trust: every connection presents a service token signed with INTERNAL_TOKEN_SECRET.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeWire, type CoreCommand, type CoreSubscription } from '@graphex/schema';
import {
  sendJson,
  verifyServiceToken,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import { createInProcessCoreClient, type InProcessCoreClient } from '../client/in-process.ts';
import {
  batchMessagesMax,
  coreEventsPerMessageMax,
  coreMessageBytesMax,
  coreSocketPath,
  isClientMessage,
  MessageBatcher,
  messagesOf,
  type ClientMessage,
  type ServerMessage,
} from './protocol.ts';

export interface CoreServiceOptions {
  readonly port: number;
  readonly logger: Logger;
  /** Core data (journal, snapshots, user registry, event log); default `$DATA_DIR/core`. */
  readonly dataDir?: string;
  /** Use an existing client instead of starting a worker (tests). */
  readonly core?: InProcessCoreClient;
}

export interface RunningCoreService extends RunningService {
  readonly core: InProcessCoreClient;
}

/** Subscriptions per connection (a projection needs one; a handful covers every service). */
const subscriptionsPerConnectionMax = 16;

export async function startCoreService(
  config: PlatformConfig,
  options: CoreServiceOptions,
): Promise<RunningCoreService> {
  const { logger } = options;
  const core =
    options.core ??
    (await createInProcessCoreClient({ dataDir: options.dataDir ?? path.join(config.dataDir, 'core') }));
  const sockets = new Set<WebSocket>();

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      void core
        .lastEventSeq()
        .then((lastEventSeq) =>
          sendJson(response, 200, { service: 'matching-core', status: 'ok', lastEventSeq }),
        );
      return;
    }
    sendJson(response, 404, {
      error: `Not found: the core serves WebSocket ${coreSocketPath} and GET /health.`,
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: coreMessageBytesMax });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== coreSocketPath) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const header = request.headers['authorization'];
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
    void verifyServiceToken(token, config.internalTokenSecret).then((service) => {
      if (!service) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => serveConnection(ws, service));
    });
  });

  function serveConnection(ws: WebSocket, service: string): void {
    sockets.add(ws);
    const log = logger.child({ peer: service });
    const subscriptions = new Map<number, { subscription: CoreSubscription; release: (() => void) | null }>();
    const outgoing = new MessageBatcher(ws);
    const send = (message: ServerMessage): void => outgoing.send(message);

    ws.on('message', (data) => {
      let messages: unknown[];
      try {
        messages = messagesOf(decodeWire(String(data)));
      } catch {
        ws.close(4400, 'Malformed message');
        return;
      }
      if (messages.length === 0 || messages.length > batchMessagesMax || !messages.every(isClientMessage)) {
        ws.close(4400, 'Invalid message');
        return;
      }
      for (const message of messages) receive(message);
    });

    const receive = (message: ClientMessage): void => {
      switch (message.op) {
        case 'submit':
          core.submit(message.command as CoreCommand).then(
            (outcome) =>
              send({ op: 'result', id: message.id, result: outcome.result, events: outcome.events }),
            (error: unknown) => send({ op: 'error', id: message.id, message: (error as Error).message }),
          );
          break;
        case 'lastEventSeq':
          void core.lastEventSeq().then((value) => send({ op: 'value', id: message.id, value }));
          break;
        case 'subscribe': {
          if (subscriptions.has(message.sub) || subscriptions.size >= subscriptionsPerConnectionMax) {
            send({
              op: 'subscriptionError',
              sub: message.sub,
              message: 'Duplicate subscription id or too many subscriptions.',
            });
            break;
          }
          const entry: { subscription: CoreSubscription; release: (() => void) | null } = {
            subscription: null as unknown as CoreSubscription,
            release: null,
          };
          entry.subscription = core.subscribe(
            message.after,
            async (events) => {
              // Split large catch-up batches; wait for the client's ack after each message.
              for (let i = 0; i < events.length; i += coreEventsPerMessageMax) {
                if (ws.readyState !== ws.OPEN) throw new Error('connection closed');
                await new Promise<void>((resolve) => {
                  entry.release = resolve;
                  send({
                    op: 'events',
                    sub: message.sub,
                    events: events.slice(i, i + coreEventsPerMessageMax),
                  });
                });
              }
            },
            (error) => {
              if (ws.readyState === ws.OPEN)
                send({ op: 'subscriptionError', sub: message.sub, message: error.message });
            },
          );
          subscriptions.set(message.sub, entry);
          break;
        }
        case 'ack': {
          const entry = subscriptions.get(message.sub);
          const release = entry?.release;
          if (entry) entry.release = null;
          release?.();
          break;
        }
        case 'unsubscribe': {
          const entry = subscriptions.get(message.sub);
          subscriptions.delete(message.sub);
          entry?.release?.();
          void entry?.subscription.close();
          break;
        }
      }
    };

    ws.on('close', () => {
      sockets.delete(ws);
      for (const entry of subscriptions.values()) {
        entry.release?.();
        void entry.subscription.close();
      }
      subscriptions.clear();
      log.debug('core client disconnected');
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `ws://${config.host}:${port}${coreSocketPath}`;
  logger.info('listening', { url, recovery: core.worker.recovery });

  let closing: Promise<void> | undefined;
  return {
    name: 'matching-core',
    url,
    port,
    core,
    close: () =>
      (closing ??= (async () => {
        for (const ws of sockets) ws.close(1001, 'Core service shutting down');
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        if (!options.core) {
          await core.worker.snapshot();
          await core.close();
        }
      })()),
  };
}
