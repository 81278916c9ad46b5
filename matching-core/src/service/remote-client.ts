/**
 * Remote adapter of the CoreClient port: talks to the core service over one WebSocket, reconnects
 * by itself, and resumes event subscriptions after the last event its handler finished.
 */
import { WebSocket } from 'ws';
import {
  decodeWire,
  type CoreClient,
  type CoreCommand,
  type CoreEventHandler,
  type CoreSubscription,
  type PublicCoreEvent,
  type SubmitOutcome,
} from '@graphex/schema';
import { matchingCoreUrl, signServiceToken, type Logger } from '@graphex/runtime';
import {
  coreMessageBytesMax,
  MessageBatcher,
  messagesOf,
  type ClientMessage,
  type ServerMessage,
} from './protocol.ts';

export interface RemoteCoreOptions {
  /** ws://host:port/core */
  readonly url: string;
  readonly internalTokenSecret: string;
  /** Name of the calling service (logged by the core). */
  readonly serviceName: string;
  /** How long a submit waits for a connection before failing (default 10 s). */
  readonly connectTimeoutMs?: number;
  readonly onConnectionError?: (error: Error) => void;
}

export class CoreUnavailableError extends Error {
  override name = 'CoreUnavailableError';
}

interface LocalSubscription {
  readonly sub: number;
  cursor: number;
  readonly handler: CoreEventHandler;
  readonly onError: ((error: Error) => void) | undefined;
  busy: Promise<void>;
  active: boolean;
}

export function connectCoreClient(options: RemoteCoreOptions): CoreClient {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const pending = new Map<
    number,
    { resolve: (message: ServerMessage) => void; reject: (error: Error) => void }
  >();
  const subscriptions = new Map<number, LocalSubscription>();
  const connectedWaiters = new Set<() => void>();
  let socket: WebSocket | null = null;
  /** The current socket's outgoing queue (one frame per event-loop turn). */
  let outgoing: MessageBatcher | null = null;
  let open = false;
  let closed = false;
  let nextId = 1;
  let nextSub = 1;
  let backoffMs = 100;
  let reconnectTimer: NodeJS.Timeout | null = null;

  const send = (message: ClientMessage): void => {
    outgoing!.send(message);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const token = await signServiceToken(options.serviceName, options.internalTokenSecret, 3600);
    const ws = new WebSocket(options.url, {
      headers: { authorization: `Bearer ${token}` },
      maxPayload: coreMessageBytesMax,
    });
    socket = ws;
    outgoing = new MessageBatcher(ws);
    ws.on('open', () => {
      open = true;
      backoffMs = 100;
      for (const wake of connectedWaiters) wake();
      connectedWaiters.clear();
      for (const local of subscriptions.values()) {
        // Resume after what the handler finished; wait for a batch still in progress first.
        void local.busy.then(() => {
          if (local.active && socket === ws && open)
            send({ op: 'subscribe', sub: local.sub, after: local.cursor });
        });
      }
    });
    ws.on('message', (data) => {
      for (const message of messagesOf(decodeWire(String(data))) as ServerMessage[]) receive(message);
    });
    const receive = (message: ServerMessage): void => {
      switch (message.op) {
        case 'result':
        case 'value':
        case 'error': {
          const entry = pending.get(message.id);
          pending.delete(message.id);
          entry?.resolve(message);
          break;
        }
        case 'events': {
          const local = subscriptions.get(message.sub);
          if (!local || !local.active) break;
          const fresh = message.events.filter((event) => event.eventSeq > local.cursor);
          local.busy = (async () => {
            try {
              if (fresh.length > 0) await local.handler(fresh);
              if (fresh.length > 0) local.cursor = fresh[fresh.length - 1]!.eventSeq;
              if (socket === ws && open) send({ op: 'ack', sub: local.sub });
            } catch (error) {
              local.active = false;
              subscriptions.delete(local.sub);
              if (socket === ws && open) send({ op: 'unsubscribe', sub: local.sub });
              local.onError?.(error as Error);
            }
          })();
          break;
        }
        case 'subscriptionError': {
          const local = subscriptions.get(message.sub);
          if (!local) break;
          local.active = false;
          subscriptions.delete(message.sub);
          local.onError?.(new Error(`core subscription failed: ${message.message}`));
          break;
        }
      }
    };
    ws.on('error', (error) => options.onConnectionError?.(error));
    ws.on('close', () => {
      if (socket !== ws) return;
      open = false;
      socket = null;
      for (const entry of pending.values()) {
        entry.reject(
          new CoreUnavailableError(
            'Connection to the matching core was lost; the command may or may not have been applied.',
          ),
        );
      }
      pending.clear();
      if (!closed) {
        reconnectTimer = setTimeout(() => void connect(), backoffMs);
        backoffMs = Math.min(backoffMs * 2, 2_000);
      }
    });
  };
  void connect();

  const whenOpen = async (): Promise<void> => {
    if (open) return;
    if (closed) throw new CoreUnavailableError('Core client is closed.');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        connectedWaiters.delete(wake);
        reject(new CoreUnavailableError(`Matching core at ${options.url} is not reachable.`));
      }, connectTimeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      connectedWaiters.add(wake);
    });
  };

  const request = async (build: (id: number) => ClientMessage): Promise<ServerMessage> => {
    await whenOpen();
    const id = nextId++;
    return new Promise<ServerMessage>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      send(build(id));
    });
  };

  return {
    submit: async (command: CoreCommand): Promise<SubmitOutcome> => {
      const reply = await request((id) => ({ op: 'submit', id, command }));
      if (reply.op === 'error') throw new Error(`core refused the command: ${reply.message}`);
      if (reply.op !== 'result') throw new Error(`unexpected core reply ${reply.op}`);
      return { result: reply.result, events: reply.events as PublicCoreEvent[] };
    },
    lastEventSeq: async () => {
      const reply = await request((id) => ({ op: 'lastEventSeq', id }));
      if (reply.op !== 'value') throw new Error(`unexpected core reply ${reply.op}`);
      return reply.value;
    },
    subscribe: (afterEventSeq, handler, onError): CoreSubscription => {
      const local: LocalSubscription = {
        sub: nextSub++,
        cursor: afterEventSeq,
        handler,
        onError,
        busy: Promise.resolve(),
        active: true,
      };
      subscriptions.set(local.sub, local);
      if (open) send({ op: 'subscribe', sub: local.sub, after: local.cursor });
      return {
        close: async () => {
          local.active = false;
          subscriptions.delete(local.sub);
          if (open) send({ op: 'unsubscribe', sub: local.sub });
          await local.busy;
        },
      };
    },
    close: async () => {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      for (const local of subscriptions.values()) local.active = false;
      await Promise.all([...subscriptions.values()].map((local) => local.busy));
      subscriptions.clear();
      for (const wake of connectedWaiters) wake();
      if (socket) {
        const ws = socket;
        await new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1000);
        });
      }
    },
  };
}

/**
 * The client a subgraph service uses when no core is injected: the core service at
 * MATCHING_CORE_URL, authenticated as `serviceName`, connection failures logged as warnings (it
 * reconnects by itself).
 */
export function connectConfiguredCore(
  serviceName: string,
  options: { readonly internalTokenSecret: string; readonly logger: Pick<Logger, 'warn'> },
): CoreClient {
  return connectCoreClient({
    url: matchingCoreUrl(),
    internalTokenSecret: options.internalTokenSecret,
    serviceName,
    onConnectionError: (error) =>
      options.logger.warn('matching core connection failed', { error: error.message }),
  });
}
