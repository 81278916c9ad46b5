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
 * - **Bounded lag.** The kernel's send buffer (megabytes on a fast link) hides a slow reader from
 *   `writableLength` for a long time. So every `probeIntervalMs` at most, a WebSocket ping with a
 *   marker payload rides in a write (two more bytes, no extra system call); its pong comes back only
 *   once the client has read everything before it. While a probe has been unanswered for more than
 *   `maxLagMs`, the connection is written no more — its subscribers' queues fill and resynchronise
 *   (or drop) them exactly as above — until the pong arrives: a slow client receives fresh
 *   SNAPSHOTs instead of events seconds old, and what waits for it anywhere stays bounded.
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
  /** How long a lag probe may stay unanswered before the connection is written no more. */
  readonly maxLagMs: number;
  /** Least time between two lag probes on one connection. */
  readonly probeIntervalMs: number;
  /** Milliseconds of a monotonic clock (tests). */
  readonly now?: () => number;
  /** The JSON bytes of an event's `payload` (errors formatted as for clients). */
  readonly serializePayload: (result: ExecutionResult) => Buffer;
}

export interface ConnectionOutput {
  /** Direct delivery for one operation id on this connection. */
  delivery(operationId: string): DirectDelivery<ExecutionResult>;
  /** A pong arrived on this connection (its payload). */
  pong(payload: Buffer): void;
  /** The connection is gone: nothing more is written. */
  close(): void;
}

export interface SocketWriter {
  /** `isOpen` says whether data frames may still be written (no close frame sent or received). */
  connection(socket: Duplex, isOpen: () => boolean): ConnectionOutput;
}

const closingBrace = Buffer.from('}');
/** The payload of the writer's lag probes (graphql-ws' keep-alive pings carry none). */
const probePayload = Buffer.from('gx-lag');
/** An unmasked ping frame (opcode 0x9) carrying the probe payload. */
const probeFrame = Buffer.concat([Buffer.from([0x89, probePayload.length]), probePayload]);

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
  const now = options.now ?? (() => performance.now());
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
    for (const connection of connections) connection.flush();
  };

  class Connection implements ConnectionOutput {
    /** Channels with items, in the order they became ready, with their message prefix. */
    readonly #ready = new Map<Channel, Buffer>();
    #waitingForDrain = false;
    #waitingForPong = false;
    /** When the unanswered lag probe was sent; undefined when none is out. */
    #probeSentAt: number | undefined;
    #lastProbeAt = Number.NEGATIVE_INFINITY;
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
          if (this.#waitingForDrain || this.#waitingForPong) return;
          this.#schedule();
        },
        onEnding: (channel) => {
          // The last events go out before graphql-ws' `complete`/`error`, congested or not: the
          // queue they come from is bounded.
          this.#ready.delete(channel);
          this.#write([[prefix, channel.drain()]]);
        },
      };
    }

    #schedule(): void {
      dirty.add(this);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushAll);
      }
    }

    flush(): void {
      if (this.#ready.size === 0) return;
      if (this.#socket.writableLength > options.highWaterBytes) {
        this.#waitForDrain();
        return;
      }
      if (this.#probeSentAt !== undefined && now() - this.#probeSentAt > options.maxLagMs) {
        // The client has not read what was written more than maxLagMs ago: wait for its pong.
        this.#waitingForPong = true;
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
        if (this.#closed || this.#ready.size === 0 || this.#waitingForPong) return;
        this.#schedule();
      });
    }

    pong(payload: Buffer): void {
      if (this.#probeSentAt === undefined || !payload.equals(probePayload)) return;
      this.#probeSentAt = undefined;
      if (!this.#waitingForPong) return;
      this.#waitingForPong = false;
      if (!this.#closed && this.#ready.size > 0 && !this.#waitingForDrain) this.#schedule();
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
      const at = now();
      const probe = this.#probeSentAt === undefined && at - this.#lastProbeAt >= options.probeIntervalMs;
      if (probe) {
        this.#probeSentAt = at;
        this.#lastProbeAt = at;
        total += probeFrame.length;
      }
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
      if (probe) probeFrame.copy(out, offset);
      this.#socket.write(out);
    }

    close(): void {
      this.#closed = true;
      for (const channel of this.#ready.keys()) channel.drain();
      this.#ready.clear();
      dirty.delete(this);
    }
  }

  return { connection: (socket, isOpen) => new Connection(socket, isOpen) };
}
