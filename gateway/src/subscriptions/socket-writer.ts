/**
 * Fan-out onto client sockets: subscription events are framed and written by one writer per client
 * connection instead of graphql-ws' per-subscriber path (an awaited async iteration, a hook, a
 * `JSON.stringify` of the whole message and a socket write for every event and every subscriber).
 *
 * - **Serialise once.** An event's result object is shared by every subscriber of a group; its
 *   payload is turned into JSON bytes once (memoised by object) and each subscriber only adds its
 *   operation id around it: `{"id":"<id>","type":"next","payload":<payload>}` — byte for byte what
 *   graphql-ws would have sent.
 * - **One write per connection per flush.** Subscribers tell the writer that events are ready; a
 *   flush scheduled with `setImmediate` frames everything ready on a connection into one buffer and
 *   one socket write. Under load the flush itself takes time, more events gather meanwhile, and the
 *   next flush carries several per write: the number of writes adapts to the load, the latency at
 *   low load stays one event-loop turn.
 * - **Backpressure.** While a socket holds more than `highWaterBytes` unsent, its subscribers'
 *   events stay in their bounded queues (SubscriberChannel) until the socket drains; a queue that
 *   fills applies its overflow policy — resynchronisation (the feed's last SNAPSHOT and the DELTAs
 *   since) or dropping the slow consumer — so a slow client never grows the gateway's memory.
 *
 * Frames are written on the connection's own socket (the `Duplex` of the HTTP upgrade, a TLS
 * socket under HTTPS) between the frames `ws` writes itself: `ws` writes each of its frames whole
 * and synchronously (no permessage-deflate on this server), so frames never interleave. The end of
 * a stream is written synchronously before graphql-ws sends `complete` or `error` for it.
 */
import type { Duplex } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import type { DirectDelivery, SubscriberChannel } from './subscriber-channel.ts';

type Channel = SubscriberChannel<ExecutionResult>;

export interface SocketWriterOptions {
  /** Unsent bytes a socket may hold before its events wait in their subscribers' queues. */
  readonly highWaterBytes: number;
  /** The JSON bytes of an event's `payload` (errors formatted as for clients). */
  readonly serializePayload: (result: ExecutionResult) => Buffer;
}

export interface ConnectionOutput {
  /** Direct delivery for one operation id on this connection. */
  delivery(operationId: string): DirectDelivery<ExecutionResult>;
  /** The connection is gone: nothing more is written. */
  close(): void;
}

export interface SocketWriter {
  /** `isOpen` says whether data frames may still be written (no close frame sent or received). */
  connection(socket: Duplex, isOpen: () => boolean): ConnectionOutput;
  /** Writes every connection's ready events now (tests, shutdown). */
  flush(): void;
}

const closingBrace = Buffer.from('}');

/** Header of an unmasked, final text frame (server to client) with this payload length. */
function writeFrameHeader(target: Buffer, offset: number, length: number): number {
  target[offset] = 0x81;
  if (length < 126) {
    target[offset + 1] = length;
    return offset + 2;
  }
  if (length < 65_536) {
    target[offset + 1] = 126;
    target.writeUInt16BE(length, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  target.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
  target.writeUInt32BE(length >>> 0, offset + 6);
  return offset + 10;
}

function frameHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

export function createSocketWriter(options: SocketWriterOptions): SocketWriter {
  const payloads = new WeakMap<ExecutionResult, Buffer>();
  const serialized = (result: ExecutionResult): Buffer => {
    let bytes = payloads.get(result);
    if (!bytes) {
      bytes = options.serializePayload(result);
      payloads.set(result, bytes);
    }
    return bytes;
  };
  const dirty = new Set<Connection>();
  let scheduled = false;

  const flushAll = (): void => {
    scheduled = false;
    // Connections made ready during this flush (a forced end) are written by the next one.
    const connections = [...dirty];
    dirty.clear();
    for (const connection of connections) connection.flush(false);
  };

  class Connection implements ConnectionOutput {
    /** Channels with items, in the order they became ready, with their message prefix. */
    readonly #ready = new Map<Channel, Buffer>();
    #waitingForDrain = false;
    #closed = false;
    readonly #socket: Duplex;
    readonly #isOpen: () => boolean;

    constructor(socket: Duplex, isOpen: () => boolean) {
      this.#socket = socket;
      this.#isOpen = isOpen;
    }

    delivery(operationId: string): DirectDelivery<ExecutionResult> {
      const prefix = Buffer.from(`{"id":${JSON.stringify(operationId)},"type":"next","payload":`);
      return {
        onReadable: (channel) => {
          if (this.#closed) {
            channel.drain();
            return;
          }
          if (!this.#ready.has(channel)) this.#ready.set(channel, prefix);
          if (this.#waitingForDrain) return;
          dirty.add(this);
          if (!scheduled) {
            scheduled = true;
            setImmediate(flushAll);
          }
        },
        onEnding: (channel) => {
          // The last events go out before graphql-ws' `complete`/`error`, congested or not: the
          // queue they come from is bounded.
          this.#ready.delete(channel);
          this.#write([[prefix, channel.drain()]]);
        },
      };
    }

    flush(force: boolean): void {
      if (this.#ready.size === 0) return;
      if (!force && this.#socket.writableLength > options.highWaterBytes) {
        this.#waitForDrain();
        return;
      }
      const batch: Array<[Buffer, ExecutionResult[]]> = [];
      for (const [channel, prefix] of this.#ready) batch.push([prefix, channel.drain()]);
      this.#ready.clear();
      this.#write(batch);
    }

    #waitForDrain(): void {
      if (this.#waitingForDrain) return;
      this.#waitingForDrain = true;
      this.#socket.once('drain', () => {
        this.#waitingForDrain = false;
        if (this.#closed || this.#ready.size === 0) return;
        dirty.add(this);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flushAll);
        }
      });
    }

    #write(batch: ReadonlyArray<readonly [Buffer, readonly ExecutionResult[]]>): void {
      if (this.#closed || !this.#isOpen() || this.#socket.destroyed) return;
      let total = 0;
      for (const [prefix, results] of batch) {
        for (const result of results) {
          const length = prefix.length + serialized(result).length + closingBrace.length;
          total += frameHeaderLength(length) + length;
        }
      }
      if (total === 0) return;
      const out = Buffer.allocUnsafe(total);
      let offset = 0;
      for (const [prefix, results] of batch) {
        for (const result of results) {
          const payload = serialized(result);
          offset = writeFrameHeader(out, offset, prefix.length + payload.length + closingBrace.length);
          offset += prefix.copy(out, offset);
          offset += payload.copy(out, offset);
          offset += closingBrace.copy(out, offset);
        }
      }
      this.#socket.write(out);
    }

    close(): void {
      this.#closed = true;
      for (const channel of this.#ready.keys()) channel.drain();
      this.#ready.clear();
      dirty.delete(this);
    }
  }

  return {
    connection: (socket, isOpen) => new Connection(socket, isOpen),
    flush: () => {
      const connections = [...dirty];
      dirty.clear();
      for (const connection of connections) connection.flush(true);
    },
  };
}
