/**
 * `npm run bench:fanout`: N graphql-ws subscribers to `orderBook(BTC-USDT)` through the gateway
 * while a scripted market maker changes the book R times a second. The maker sends its mutations
 * straight to the orders subgraph (with a gateway-signed identity), paced by the clock and without
 * waiting for each answer, so the book changes at the asked rate whatever the gateway's load; the
 * gateway carries only the subscriptions being measured. Prints delivered events/s,
 * delivery latency p50/p99 (mutation sent → event received, matched by the price level it
 * touched), SNAPSHOT resends, sequence gaps seen by any client, and gateway memory over time.
 *
 *   npm run bench:fanout -- --subscribers 5000 --rate 100 --seconds 60 [--client graphql-ws]
 *
 * The subscribers speak graphql-ws' protocol (`graphql-transport-ws`) with a minimal client of
 * this file on `ws` sockets: 5,000 of them share one process and one core with the load generator,
 * and graphql-ws' client library costs about twice as much per message. `--client graphql-ws` uses
 * the library instead. Also printed: the gateway's CPU use over the measured window, so figures
 * limited by the machine rather than the gateway show as such.
 */
import { availableParallelism } from 'node:os';
import WebSocket from 'ws';
import { loadConfig, signInternalIdentity } from '@graphex/runtime';
import { connectWs, gqlOk, startPlatform } from '../harness/index.ts';
import { argValue, cpuSeconds, round2, rssMiB, summarize } from './stats.ts';

const useLibraryClient = process.argv.includes('--client')
  ? process.argv[process.argv.indexOf('--client') + 1] === 'graphql-ws'
  : false;

interface Subscriber {
  dispose(): Promise<void> | void;
}

interface Sink<T> {
  next(result: { data?: T | null; errors?: unknown }): void;
  /** The subscription ended (error, complete or a closed socket) before the bench stopped it. */
  ended(): void;
}

/**
 * One graphql-transport-ws subscription on its own socket: connection_init → connection_ack →
 * subscribe; answers pings; `next` payloads go to the sink.
 */
function leanSubscribe<T>(httpUrl: string, query: string, sink: Sink<T>): Subscriber {
  const url = httpUrl.replace(/^http/, 'ws');
  // Loopback from our own gateway: skip ws' UTF-8 validation of every text frame.
  const socket = new WebSocket(url, 'graphql-transport-ws', {
    perMessageDeflate: false,
    skipUTF8Validation: true,
  });
  socket.on('open', () => socket.send('{"type":"connection_init","payload":{}}'));
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { type: string; payload?: unknown };
    switch (message.type) {
      case 'next':
        sink.next(message.payload as { data?: T | null });
        break;
      case 'connection_ack':
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        break;
      case 'ping':
        socket.send('{"type":"pong"}');
        break;
      case 'error':
      case 'complete':
        if (!disposed) sink.ended();
        break;
      default:
        break;
    }
  });
  socket.on('error', () => undefined);
  let disposed = false;
  socket.on('close', () => {
    if (!disposed) sink.ended();
  });
  return {
    dispose: () =>
      new Promise<void>((resolve) => {
        disposed = true;
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close(1000);
      }),
  };
}

const subscriberCount = argValue('subscribers', 5000);
const ratePerSecond = argValue('rate', 100);
const seconds = argValue('seconds', 60);

interface BookEvent {
  orderBook: {
    kind: 'SNAPSHOT' | 'DELTA';
    sequence: string;
    bids: Array<{ price: string }>;
    asks: Array<{ price: string }>;
  };
}

async function main(): Promise<void> {
  console.log(`bench:fanout — ${subscriberCount} subscribers, ${ratePerSecond} book changes/s, ${seconds} s`);
  const platform = await startPlatform({
    env: {
      EXCHANGE_ADMIN_EMAIL: 'fanout-admin@graphex.test',
      EXCHANGE_ADMIN_PASSWORD: 'Fanout-admin-2026',
      LOG_LEVEL: 'error',
      GATEWAY_RATE_LIMIT_PER_IP: '100000000',
      GATEWAY_RATE_LIMIT_PER_IDENTITY: '100000000',
      GATEWAY_SIGNIN_LIMIT_PER_IP: '100000',
    },
  });
  const url = platform.gatewayUrl;
  const gatewayPid = platform.processes.get('gateway')?.child.pid;
  const clients: Subscriber[] = [];
  try {
    const admin = await gqlOk<{ login: { accessToken: string } }>(
      url,
      `mutation { login(input: { email: "fanout-admin@graphex.test", password: "Fanout-admin-2026" }) { accessToken } }`,
    );
    const maker = await gqlOk<{ register: { accessToken: string; user: { id: string } } }>(
      url,
      `mutation { register(input: { email: "maker@bench.test", password: "maker-password-2026" }) { accessToken user { id } } }`,
    );
    await gqlOk(
      url,
      `mutation ($u: ID!) { adminAdjustBalance(userId: $u, currency: "USDT", amount: "100000000", reason: "bench") { available } }`,
      { u: maker.register.user.id },
      admin.login.accessToken,
    );

    const sentAt = new Map<string, number>(); // price → time the mutation that touches it was sent
    const latencies: number[] = [];
    let delivered = 0;
    let snapshots = 0;
    let resends = 0;
    let gaps = 0;
    let connected = 0;
    let ended = 0;
    const memory: number[] = [rssMiB(gatewayPid)];

    const query = `subscription { orderBook(symbol: "BTC-USDT", depth: 50) { kind sequence bids { price } asks { price } } }`;
    for (let i = 0; i < subscriberCount; i += 1) {
      let lastSequence: bigint | null = null;
      let seenSnapshot = false;
      const sink: Sink<BookEvent> = {
        next: (result) => {
          const book = result.data?.orderBook;
          if (!book) return;
          const now = performance.now();
          delivered += 1;
          const sequence = BigInt(book.sequence);
          if (book.kind === 'SNAPSHOT') {
            if (seenSnapshot) resends += 1;
            else connected += 1;
            seenSnapshot = true;
            snapshots += 1;
          } else {
            if (lastSequence !== null && sequence !== lastSequence + 1n) gaps += 1;
            for (const levels of [book.bids, book.asks]) {
              for (const level of levels) {
                const sent = sentAt.get(level.price);
                if (sent !== undefined) latencies.push(now - sent);
              }
            }
          }
          lastSequence = sequence;
        },
        ended: () => {
          ended += 1;
        },
      };
      if (useLibraryClient) {
        const client = connectWs(url);
        client.subscribe<BookEvent>({ query }, { next: sink.next, error: sink.ended, complete: sink.ended });
        clients.push(client);
      } else {
        clients.push(leanSubscribe(url, query, sink));
      }
    }
    const connectDeadline = Date.now() + 120_000;
    while (connected < subscriberCount && Date.now() < connectDeadline)
      await new Promise((r) => setTimeout(r, 200));
    console.log(
      `subscribed: ${connected}/${subscriberCount} got their first SNAPSHOT; gateway RSS ${rssMiB(gatewayPid)} MiB`,
    );
    delivered = 0;
    latencies.length = 0;
    const snapshotsBefore = snapshots;

    // The market maker: place a bid at a fresh price, or cancel the oldest, alternating.
    const config = loadConfig({ NODE_ENV: 'test' });
    const makerIdentity = await signInternalIdentity(
      { kind: 'user', userId: maker.register.user.id, role: 'USER', sessionId: null },
      config.internalTokenSecret,
      3600,
    );
    const makerLatencies: number[] = [];
    const direct = async (query: string, variables: Record<string, unknown>) => {
      const sentAt = performance.now();
      const response = await fetch(platform.urls.orders, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphex-identity': makerIdentity },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: Record<string, { id: string }>; errors?: unknown[] };
      if (body.errors?.length) throw new Error(`maker mutation failed: ${JSON.stringify(body.errors)}`);
      makerLatencies.push(performance.now() - sentAt);
      return body.data!;
    };
    const open: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let makerErrors = 0;
    const started = performance.now();
    let mutations = 0;
    const memoryTimer = setInterval(() => memory.push(rssMiB(gatewayPid)), 1000);
    const gatewayCpuStart = cpuSeconds(gatewayPid);
    const pids = [...platform.processes].map(([name, p]) => [name, p.child.pid] as const);
    const cpuStart = new Map(pids.map(([name, pid]) => [name, cpuSeconds(pid)]));
    const benchCpuStart = process.cpuUsage();
    let tick = 0;
    while (performance.now() - started < seconds * 1000) {
      const due = started + (tick * 1000) / ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      tick += 1;
      let work: Promise<void>;
      if (open.length > 20 || (open.length > 0 && tick % 2 === 0)) {
        const [orderId, price] = open.shift()!.split('@') as [string, string];
        sentAt.set(price, performance.now());
        work = direct(`mutation ($id: ID!) { cancelOrder(id: $id) { id } }`, { id: orderId }).then(
          () => undefined,
        );
      } else {
        const cents = 4_000_000 + (tick % 50_000);
        const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
        sentAt.set(price, performance.now());
        work = direct(`mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, {
          input: { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price, quantity: '0.001' },
        }).then((data) => {
          open.push(`${data['placeOrder']!.id}@${price}`);
        });
      }
      const tracked: Promise<void> = work
        .catch(() => {
          makerErrors += 1;
        })
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      mutations += 1;
    }
    await Promise.all(inFlight);
    await new Promise((r) => setTimeout(r, 2000));
    clearInterval(memoryTimer);
    const elapsed = (performance.now() - started) / 1000;
    const gatewayCpuPercent = Math.round(((cpuSeconds(gatewayPid) - gatewayCpuStart) / elapsed) * 100);
    const benchCpu = process.cpuUsage(benchCpuStart);
    const cpuShares = pids.map(
      ([name, pid]) => `${name}=${Math.round(((cpuSeconds(pid) - cpuStart.get(name)!) / elapsed) * 100)}%`,
    );
    cpuShares.push(`subscribers+maker=${Math.round((benchCpu.user + benchCpu.system) / 1e4 / elapsed)}%`);
    console.log(
      `CPU over the measured window (100% = one core of ${availableParallelism()}): ${cpuShares.join(' ')}`,
    );
    const s = summarize(latencies);
    const memoryEnd = memory[memory.length - 1]!;
    const makerAnswers = summarize(makerLatencies);
    console.log(
      `maker: answer p50 ${round2(makerAnswers.p50)} ms p99 ${round2(makerAnswers.p99)} ms; ${mutations} mutations (${makerErrors} failed) in ${round2(elapsed)} s, straight to the orders subgraph; gateway RSS MiB over time: ${memory.join(' ')}`,
    );
    console.log(
      `bench:fanout subscribers=${connected} delivered_events_per_s=${Math.round(delivered / elapsed)} latency_p50_ms=${round2(s.p50)} latency_p99_ms=${round2(s.p99)} snapshot_resends=${resends + (snapshots - snapshotsBefore - resends)} gaps=${gaps} ended_early=${ended} gateway_rss_start_mib=${memory[0]} gateway_rss_end_mib=${memoryEnd} gateway_rss_max_mib=${Math.max(...memory)} gateway_cpu_pct=${gatewayCpuPercent}`,
    );
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await platform.stop();
  }
}

await main();
