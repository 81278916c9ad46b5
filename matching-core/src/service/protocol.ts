/**
 * Wire protocol between the core service and its remote clients: JSON messages (bigint fields as
 * strings, see `encodeWire`) over one WebSocket per client at `/core`. Requests carry an id and get
 * exactly one reply; an event subscription delivers one batch at a time and waits for the client's
 * `ack` before sending the next (backpressure end to end, so a slow projection never makes the
 * core service buffer without bound).
 */
import type { CommandResult, CoreCommand, PublicCoreEvent } from '@graphex/schema';

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
