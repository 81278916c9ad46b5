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
import { connectWs } from '../harness/index.ts';
import { openRawWebSocket } from './raw-websocket.ts';

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
  /** Sampled `next` messages whose scan disagreed with JSON.parse (must be 0). */
  readonly misread: number;
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

/** The fields a subscriber checks, read from a `next` message without building its object tree. */
interface ScannedBook {
  readonly kind: string;
  readonly sequence: string;
  readonly prices: string[];
}

/** Every `parseCheckEvery`-th `next` message is also JSON-parsed and compared with its scan. */
const parseCheckEvery = 64;

/**
 * Reads `orderBook { kind sequence bids { price } asks { price } }` out of a `next` message by
 * scanning its text: 5,000 subscribers share two cores with the platform, and building every
 * message's object tree (JSON.parse) made the readers, not the gateway, the bench's largest CPU
 * user. The gateway's messages are compact JSON of a fixed shape; `checkScan` compares the scan
 * with JSON.parse on a sample, so a shape the scan misreads is reported, not silently miscounted.
 */
function scanNext(text: string): ScannedBook | null {
  const kindAt = text.indexOf('"kind":"');
  if (kindAt < 0) return null;
  const kindEnd = text.indexOf('"', kindAt + 8);
  const sequenceAt = text.indexOf('"sequence":"', kindEnd);
  if (sequenceAt < 0) return null;
  const sequenceEnd = text.indexOf('"', sequenceAt + 12);
  const prices: string[] = [];
  let at = text.indexOf('"price":"', sequenceEnd);
  while (at >= 0) {
    const end = text.indexOf('"', at + 9);
    prices.push(text.slice(at + 9, end));
    at = text.indexOf('"price":"', end);
  }
  return {
    kind: text.slice(kindAt + 8, kindEnd),
    sequence: text.slice(sequenceAt + 12, sequenceEnd),
    prices,
  };
}

/** The checked fields of a parsed book event (null: no book in the message). */
function scannedOf(book: BookEvent['orderBook'] | null | undefined): ScannedBook | null {
  if (!book) return null;
  return {
    kind: book.kind,
    sequence: book.sequence,
    prices: [...book.bids, ...book.asks].map((level) => level.price),
  };
}

/** Whether JSON.parse of the message agrees with its scan. */
function checkScan(text: string, scanned: ScannedBook | null): boolean {
  const message = JSON.parse(text) as { payload?: { data?: BookEvent | null } };
  const parsed = scannedOf(message.payload?.data?.orderBook);
  if (!parsed || !scanned) return parsed === scanned;
  return (
    scanned.kind === parsed.kind &&
    scanned.sequence === parsed.sequence &&
    scanned.prices.join(',') === parsed.prices.join(',')
  );
}

interface Sink {
  next(book: ScannedBook | null): void;
  /** A sampled message whose scan disagreed with JSON.parse. */
  misread(): void;
  /** The subscription ended (error, complete or a closed socket) before the bench stopped it. */
  ended(reason: string): void;
}

const query = `subscription { orderBook(symbol: "BTC-USDT", depth: 50) { kind sequence bids { price } asks { price } } }`;
const now = (): number => performance.timeOrigin + performance.now();
const nextPrefix = '{"id":"1","type":"next","payload":';

/**
 * One graphql-transport-ws subscription on its own socket (a minimal WebSocket client,
 * `raw-websocket.ts`): connection_init → connection_ack → subscribe; answers pings; `next`
 * messages are scanned (see `scanNext`), the others parsed.
 */
function leanSubscribe(httpUrl: string, sink: Sink): () => Promise<void> {
  let disposed = false;
  let nexts = 0;
  const socket = openRawWebSocket(httpUrl.replace(/^http/, 'ws'), 'graphql-transport-ws', {
    open: () => socket.send('{"type":"connection_init","payload":{}}'),
    text: (chunk, start, end) => {
      // The gateway's text is ASCII here (prices, sequences, enum names): latin1 decodes it cheapest.
      const text = chunk.toString('latin1', start, end);
      if (text.startsWith(nextPrefix)) {
        const scanned = scanNext(text);
        nexts += 1;
        if (nexts % parseCheckEvery === 0 && !checkScan(chunk.toString('utf8', start, end), scanned))
          sink.misread();
        sink.next(scanned);
        return;
      }
      const message = JSON.parse(chunk.toString('utf8', start, end)) as { type: string; payload?: unknown };
      switch (message.type) {
        case 'next': {
          // Not the compact shape the scan expects: read it properly.
          sink.next(scannedOf((message.payload as { data?: BookEvent | null }).data?.orderBook));
          break;
        }
        case 'connection_ack':
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
          break;
        case 'ping':
          socket.send('{"type":"pong"}');
          break;
        case 'error':
        case 'complete':
          if (!disposed)
            sink.ended(`${message.type} ${JSON.stringify(message.payload ?? null).slice(0, 120)}`);
          break;
        default:
          break;
      }
    },
    closed: (reason) => {
      if (!disposed) sink.ended(reason);
    },
  });
  return () => {
    disposed = true;
    return socket.close();
  };
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
  let misread = 0;
  const endReasons: Record<string, number> = {};
  const disposers: Array<() => Promise<void> | void> = [];

  for (let i = 0; i < input.count; i += 1) {
    let lastSequence = -1;
    let seenSnapshot = false;
    let wasResynced = false;
    const sink: Sink = {
      next: (book) => {
        if (!book) return;
        const at = now();
        delivered += 1;
        // Book sequences are safe integers (the core's counters).
        const sequence = Number(book.sequence);
        if (book.kind === 'SNAPSHOT') {
          if (!seenSnapshot) connected += 1;
          else if (!wasResynced) {
            wasResynced = true;
            resynced += 1;
          }
          seenSnapshot = true;
          snapshots += 1;
        } else {
          if (lastSequence >= 0 && sequence !== lastSequence + 1) gaps += 1;
          for (const price of book.prices) {
            const sent = sentAt.get(price);
            if (sent === undefined) continue;
            latencies.push(at - sent);
            if (!wasResynced) inSyncLatencies.push(at - sent);
          }
        }
        lastSequence = sequence;
      },
      misread: () => {
        misread += 1;
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
          next: (result) => sink.next(scannedOf(result.data?.orderBook)),
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
          misread,
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
