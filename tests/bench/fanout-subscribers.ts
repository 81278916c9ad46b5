/**
 * A worker thread of `bench:fanout`: holds its share of the `orderBook` subscribers, checks every
 * stream (SNAPSHOT first, then DELTAs whose sequence rises by exactly one) and measures delivery
 * latency against the send times the maker (main thread) posts. Times are absolute
 * (`performance.timeOrigin + performance.now()`) so both threads share a clock.
 *
 * Messages from the main thread: `{ type: 'sent', price, at }`, `{ type: 'measure' }` (reset the
 * counters: the measured window starts), `{ type: 'report' }` (answer with the figures), `{ type:
 * 'stop' }` (close every subscription).
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { connectWs } from '../harness/index.ts';

export interface SubscribersInput {
  readonly gatewayUrl: string;
  readonly count: number;
  readonly libraryClient: boolean;
}

export interface SubscribersReport {
  readonly type: 'report';
  readonly connected: number;
  readonly delivered: number;
  readonly snapshots: number;
  readonly gaps: number;
  readonly ended: number;
  readonly endReasons: Record<string, number>;
  readonly latencies: Float64Array;
  /** Latencies seen by subscribers never resynchronised (no replayed catch-up DELTAs among them). */
  readonly inSyncLatencies: Float64Array;
  /** Subscribers that received a SNAPSHOT after their first. */
  readonly resynced: number;
}

interface BookEvent {
  orderBook: {
    kind: 'SNAPSHOT' | 'DELTA';
    sequence: string;
    bids: Array<{ price: string }>;
    asks: Array<{ price: string }>;
  };
}

interface Sink {
  next(result: { data?: BookEvent | null }): void;
  /** The subscription ended (error, complete or a closed socket) before the bench stopped it. */
  ended(reason: string): void;
}

const query = `subscription { orderBook(symbol: "BTC-USDT", depth: 50) { kind sequence bids { price } asks { price } } }`;
const now = (): number => performance.timeOrigin + performance.now();

/**
 * One graphql-transport-ws subscription on its own socket: connection_init → connection_ack →
 * subscribe; answers pings; `next` payloads go to the sink.
 */
function leanSubscribe(httpUrl: string, sink: Sink): () => Promise<void> {
  const url = httpUrl.replace(/^http/, 'ws');
  // Loopback from our own gateway: skip ws' UTF-8 validation of every text frame.
  const socket = new WebSocket(url, 'graphql-transport-ws', {
    perMessageDeflate: false,
    skipUTF8Validation: true,
  });
  let disposed = false;
  socket.on('open', () => socket.send('{"type":"connection_init","payload":{}}'));
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { type: string; payload?: unknown };
    switch (message.type) {
      case 'next':
        sink.next(message.payload as { data?: BookEvent | null });
        break;
      case 'connection_ack':
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        break;
      case 'ping':
        socket.send('{"type":"pong"}');
        break;
      case 'error':
      case 'complete':
        if (!disposed) sink.ended(`${message.type} ${JSON.stringify(message.payload ?? null).slice(0, 120)}`);
        break;
      default:
        break;
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', (code: number) => {
    if (!disposed) sink.ended(`close ${code}`);
  });
  return () =>
    new Promise<void>((resolve) => {
      disposed = true;
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.close(1000);
    });
}

function run(input: SubscribersInput): void {
  const port = parentPort;
  if (!port) throw new Error('fanout-subscribers.ts runs as a worker thread of tests/bench/fanout.ts');
  const sentAt = new Map<string, number>();
  let latencies: number[] = [];
  let inSyncLatencies: number[] = [];
  let resynced = 0;
  let delivered = 0;
  let snapshots = 0;
  let gaps = 0;
  let connected = 0;
  let ended = 0;
  const endReasons: Record<string, number> = {};
  const disposers: Array<() => Promise<void> | void> = [];

  for (let i = 0; i < input.count; i += 1) {
    let lastSequence: bigint | null = null;
    let seenSnapshot = false;
    let wasResynced = false;
    const sink: Sink = {
      next: (result) => {
        const book = result.data?.orderBook;
        if (!book) return;
        const at = now();
        delivered += 1;
        const sequence = BigInt(book.sequence);
        if (book.kind === 'SNAPSHOT') {
          if (!seenSnapshot) connected += 1;
          else if (!wasResynced) {
            wasResynced = true;
            resynced += 1;
          }
          seenSnapshot = true;
          snapshots += 1;
        } else {
          if (lastSequence !== null && sequence !== lastSequence + 1n) gaps += 1;
          for (const levels of [book.bids, book.asks]) {
            for (const level of levels) {
              const sent = sentAt.get(level.price);
              if (sent === undefined) continue;
              latencies.push(at - sent);
              if (!wasResynced) inSyncLatencies.push(at - sent);
            }
          }
        }
        lastSequence = sequence;
      },
      ended: (reason) => {
        ended += 1;
        endReasons[reason] = (endReasons[reason] ?? 0) + 1;
      },
    };
    if (input.libraryClient) {
      const client = connectWs(input.gatewayUrl);
      client.subscribe<BookEvent>(
        { query },
        {
          next: sink.next,
          error: (error) => sink.ended(`error ${error instanceof Error ? error.message : String(error)}`),
          complete: () => sink.ended('complete'),
        },
      );
      disposers.push(() => client.dispose());
    } else {
      disposers.push(leanSubscribe(input.gatewayUrl, sink));
    }
  }

  const progress = setInterval(() => port.postMessage({ type: 'connected', connected }), 200);
  port.on('message', (message: { type: string; price?: string; at?: number }) => {
    switch (message.type) {
      case 'sent':
        sentAt.set(message.price!, message.at!);
        break;
      case 'measure':
        clearInterval(progress);
        delivered = 0;
        snapshots = 0;
        latencies = [];
        inSyncLatencies = [];
        break;
      case 'report': {
        const report: SubscribersReport = {
          type: 'report',
          connected,
          delivered,
          snapshots,
          gaps,
          ended,
          endReasons,
          latencies: Float64Array.from(latencies),
          inSyncLatencies: Float64Array.from(inSyncLatencies),
          resynced,
        };
        port.postMessage(report, [
          report.latencies.buffer as ArrayBuffer,
          report.inSyncLatencies.buffer as ArrayBuffer,
        ]);
        break;
      }
      case 'stop':
        void Promise.all(disposers.map((dispose) => dispose())).then(() => {
          port.postMessage({ type: 'stopped' });
          port.close();
        });
        break;
      default:
        break;
    }
  });
}

run(workerData as SubscribersInput);
