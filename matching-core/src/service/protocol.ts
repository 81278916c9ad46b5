/**
 * Wire protocol between the core service and its remote clients: JSON messages (bigint fields as
 * strings, see `encodeWire`) over one WebSocket per client at `/core`. Requests carry an id and get
 * exactly one reply; an event subscription delivers one batch at a time and waits for the client's
 * `ack` before sending the next (backpressure end to end, so a slow projection never makes the
 * core service buffer without bound).
 *
 * Either side may send several messages as one WebSocket message, a JSON array of them, in order:
 * what a side sends within one turn of its event loop goes out as one frame (`MessageBatcher`), so
 * a burst of submits and their results costs one write each way instead of one per command.
 */
import type { WebSocket } from 'ws';
import { encodeWire, type CommandResult, type CoreCommand, type PublicCoreEvent } from '@graphex/schema';

export const coreSocketPath = '/core';
/** Largest message either side accepts. */
export const coreMessageBytesMax = 8 * 1024 * 1024;
/** Events per `events` message (whole batches, so it can exceed this by one batch). */
export const coreEventsPerMessageMax = 5_000;

export type ClientMessage =
  | { readonly op: 'submit'; readonly id: number; readonly command: CoreCommand }
  | { readonly op: 'lastEventSeq'; readonly id: number }
  | { readonly op: 'subscribe'; readonly sub: number; readonly after: number }
  | { readonly op: 'ack'; readonly sub: number }
  | { readonly op: 'unsubscribe'; readonly sub: number };

export type ServerMessage =
  | {
      readonly op: 'result';
      readonly id: number;
      readonly result: CommandResult;
      readonly events: readonly PublicCoreEvent[];
    }
  | { readonly op: 'value'; readonly id: number; readonly value: number }
  | { readonly op: 'error'; readonly id: number; readonly message: string }
  | { readonly op: 'events'; readonly sub: number; readonly events: readonly PublicCoreEvent[] }
  | { readonly op: 'subscriptionError'; readonly sub: number; readonly message: string };

/** Validates an incoming client message's shape (the one boundary check, graphql-ws style). */
export function isClientMessage(value: unknown): value is ClientMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Record<string, unknown>;
  const int = (key: string): boolean => Number.isSafeInteger(message[key]) && (message[key] as number) >= 0;
  switch (message['op']) {
    case 'submit':
      return int('id') && typeof message['command'] === 'object' && message['command'] !== null;
    case 'lastEventSeq':
      return int('id');
    case 'subscribe':
      return int('sub') && int('after');
    case 'ack':
    case 'unsubscribe':
      return int('sub');
    default:
      return false;
  }
}

/** Messages per batched frame, and characters of JSON (far below `coreMessageBytesMax`). */
export const batchMessagesMax = 256;
export const batchCharsMax = 1024 * 1024;

/**
 * Queues encoded messages for one socket and sends them at the end of the event-loop turn as one
 * frame (a JSON array when there are several). Messages queued while the socket is not open are
 * dropped, as a direct send would have been (requests are failed by the close handler).
 */
export class MessageBatcher {
  readonly #ws: WebSocket;
  #queued: string[] = [];
  #chars = 0;
  #scheduled = false;

  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  send(message: unknown): void {
    const text = encodeWire(message);
    if (this.#chars + text.length > batchCharsMax) this.flush();
    this.#queued.push(text);
    this.#chars += text.length;
    if (this.#queued.length >= batchMessagesMax || this.#chars >= batchCharsMax) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    const queued = this.#queued;
    if (queued.length === 0) return;
    this.#queued = [];
    this.#chars = 0;
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(queued.length === 1 ? queued[0]! : `[${queued.join(',')}]`);
  }
}

/** The messages of one received WebSocket message (one message, or a batch of them). */
export function messagesOf(decoded: unknown): unknown[] {
  return Array.isArray(decoded) ? decoded : [decoded];
}
