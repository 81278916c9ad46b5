/**
 * `npm run bench:fanout`: N graphql-ws subscribers to `orderBook(BTC-USDT)` through the gateway
 * while a scripted market maker changes the book R times a second. The maker sends its mutations
 * straight to the orders subgraph (with a gateway-signed identity), paced by the clock and without
 * waiting for each answer, so the book changes at the asked rate whatever the gateway's load; the
 * gateway carries only the subscriptions being measured. Prints delivered events/s,
 * delivery latency p50/p99 (mutation sent → event received, matched by the price level it
 * touched), SNAPSHOT resends, sequence gaps seen by any client, and gateway memory over time.
 *
 *   npm run bench:fanout -- --subscribers 5000 --rate 100 --seconds 60 [--workers 2] [--client graphql-ws]
 *
 * The subscribers live in `--workers` worker threads (fanout-subscribers.ts), apart from the maker's
 * clock and the figures, and speak graphql-ws' protocol (`graphql-transport-ws`) with a minimal
 * WebSocket client on plain TCP sockets (raw-websocket.ts) that scans each `next` message instead
 * of parsing it: 5,000 of them share the machine with the whole platform, and graphql-ws' client
 * library on `ws` costs several times as much per message (`--client graphql-ws` uses it). Also
 * printed: every process's CPU use over the measured window, so figures limited by the machine
 * rather than the gateway show as such.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadConfig, serviceTokenHeader, signInternalIdentity, signServiceToken } from '@graphex/runtime';
import { gqlOk, startPlatform } from '../harness/index.ts';
import type { SubscribersInput, SubscribersReport } from './fanout-subscribers.ts';
import { argValue, cpuSeconds, getJson, postJson, round2, rssMiB, summarize } from './stats.ts';

const subscriberCount = argValue('subscribers', 5000);
const ratePerSecond = argValue('rate', 100);
const seconds = argValue('seconds', 60);
const workerCount = argValue('workers', 2);
const libraryClient = process.argv.includes('--client')
  ? process.argv[process.argv.indexOf('--client') + 1] === 'graphql-ws'
  : false;
const now = (): number => performance.timeOrigin + performance.now();

interface SubscriberWorker {
  readonly worker: Worker;
  connected: number;
  report?: SubscribersReport;
}

function startSubscribers(gatewayUrl: string): SubscriberWorker[] {
  const workers: SubscriberWorker[] = [];
  for (let i = 0; i < workerCount; i += 1) {
    const count = Math.floor(subscriberCount / workerCount) + (i < subscriberCount % workerCount ? 1 : 0);
    const input: SubscribersInput = { gatewayUrl, count, libraryClient };
    const worker = new Worker(new URL('./fanout-subscribers.ts', import.meta.url), { workerData: input });
    const entry: SubscriberWorker = { worker, connected: 0 };
    worker.on('message', (message: { type: string; connected?: number } | SubscribersReport) => {
      if (message.type === 'connected') entry.connected = message.connected!;
      else if (message.type === 'report') entry.report = message as SubscribersReport;
    });
    worker.on('error', (error) => console.error('subscriber worker failed', error));
    workers.push(entry);
  }
  return workers;
}

async function reports(workers: SubscriberWorker[]): Promise<SubscribersReport[]> {
  for (const entry of workers) {
    entry.report = undefined;
    entry.worker.postMessage({ type: 'report' });
  }
  while (workers.some((entry) => !entry.report)) await new Promise((r) => setTimeout(r, 50));
  return workers.map((entry) => entry.report!);
}

async function stopSubscribers(workers: SubscriberWorker[]): Promise<void> {
  await Promise.all(
    workers.map(
      (entry) =>
        new Promise<void>((resolve) => {
          entry.worker.once('exit', () => resolve());
          entry.worker.postMessage({ type: 'stop' });
          setTimeout(() => void entry.worker.terminate(), 10_000).unref();
        }),
    ),
  );
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
  let workers: SubscriberWorker[] = [];
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

    const memory: number[] = [rssMiB(gatewayPid)];
    workers = startSubscribers(url);
    const connectDeadline = Date.now() + 180_000;
    const connectedNow = (): number => workers.reduce((sum, entry) => sum + entry.connected, 0);
    while (connectedNow() < subscriberCount && Date.now() < connectDeadline)
      await new Promise((r) => setTimeout(r, 200));
    console.log(
      `subscribed: ${connectedNow()}/${subscriberCount} got their first SNAPSHOT; gateway RSS ${rssMiB(gatewayPid)} MiB`,
    );
    for (const entry of workers) entry.worker.postMessage({ type: 'measure' });

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
      const body = await postJson<{ data?: Record<string, { id: string }>; errors?: unknown[] }>(
        platform.urls.orders,
        { 'x-graphex-identity': makerIdentity },
        { query, variables },
      );
      if (body.errors?.length) throw new Error(`maker mutation failed: ${JSON.stringify(body.errors)}`);
      makerLatencies.push(performance.now() - sentAt);
      return body.data!;
    };
    const markSent = (price: string): void => {
      const at = now();
      for (const entry of workers) entry.worker.postMessage({ type: 'sent', price, at });
    };
    const open: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let makerErrors = 0;
    const started = performance.now();
    let mutations = 0;
    // The gateway's own account of its memory: the V8 heap in use (live objects plus garbage not yet
    // collected) and the buffers outside it. RSS alone also counts pages the allocators keep after
    // freeing them.
    const serviceToken = await signServiceToken('bench-fanout', config.internalTokenSecret, 3600);
    const memoryUrl = url.replace('/graphql', '/internal/memory');
    const heapUsed: number[] = [];
    const external: number[] = [];
    const memoryTimer = setInterval(() => {
      memory.push(rssMiB(gatewayPid));
      void getJson<{ heapUsedBytes: number; externalBytes: number }>(memoryUrl, {
        [serviceTokenHeader]: serviceToken,
      })
        .then((report) => {
          heapUsed.push(Math.round(report.heapUsedBytes / 2 ** 20));
          external.push(Math.round(report.externalBytes / 2 ** 20));
        })
        .catch(() => undefined);
    }, 1000);
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
        markSent(price);
        work = direct(`mutation ($id: ID!) { cancelOrder(id: $id) { id } }`, { id: orderId }).then(
          () => undefined,
        );
      } else {
        const cents = 4_000_000 + (tick % 50_000);
        const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
        markSent(price);
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
    const figures = await reports(workers);
    const sum = (pick: (report: SubscribersReport) => number): number =>
      figures.reduce((total, report) => total + pick(report), 0);
    const latencies: number[] = [];
    for (const report of figures) for (const value of report.latencies) latencies.push(value);
    const endReasons: Record<string, number> = {};
    for (const report of figures)
      for (const [reason, count] of Object.entries(report.endReasons))
        endReasons[reason] = (endReasons[reason] ?? 0) + count;
    const s = summarize(latencies);
    const inSync: number[] = [];
    for (const report of figures) for (const value of report.inSyncLatencies) inSync.push(value);
    const inSyncSummary = summarize(inSync);
    console.log(
      `subscribers resynchronised at least once: ${sum((r) => r.resynced)}; latency of the others: p50 ${round2(inSyncSummary.p50)} ms p99 ${round2(inSyncSummary.p99)} ms (${inSync.length} deliveries)`,
    );
    const memoryEnd = memory[memory.length - 1]!;
    const makerAnswers = summarize(makerLatencies);
    if (Object.keys(endReasons).length > 0)
      console.log(`subscriptions that ended early, by reason: ${JSON.stringify(endReasons)}`);
    /**
     * Smallest and largest value per tenth of the run. The heap's smallest readings follow its
     * collections (what stays alive): a gateway that leaks shows them rising.
     */
    const tenths = (values: readonly number[]): string => {
      const size = Math.max(1, Math.ceil(values.length / 10));
      const out: string[] = [];
      for (let i = 0; i < values.length; i += size) {
        const part = values.slice(i, i + size);
        out.push(`${Math.min(...part)}-${Math.max(...part)}`);
      }
      return out.join(' ');
    };
    console.log(
      `gateway heap used MiB, least-most per tenth of the run: ${tenths(heapUsed)}; outside the heap (buffers): ${tenths(external)}`,
    );
    console.log(
      `maker: answer p50 ${round2(makerAnswers.p50)} ms p99 ${round2(makerAnswers.p99)} ms; ${mutations} mutations (${makerErrors} failed) in ${round2(elapsed)} s, straight to the orders subgraph; gateway RSS MiB over time: ${memory.join(' ')}`,
    );
    console.log(
      `bench:fanout subscribers=${sum((r) => r.connected)} delivered_events_per_s=${Math.round(sum((r) => r.delivered) / elapsed)} latency_p50_ms=${round2(s.p50)} latency_p99_ms=${round2(s.p99)} snapshot_resends=${sum((r) => r.snapshots)} gaps=${sum((r) => r.gaps)} misread=${sum((r) => r.misread)} ended_early=${sum((r) => r.ended)} gateway_rss_start_mib=${memory[0]} gateway_rss_end_mib=${memoryEnd} gateway_rss_max_mib=${Math.max(...memory)} gateway_heap_used_max_mib=${Math.max(...heapUsed)} gateway_cpu_pct=${gatewayCpuPercent}`,
    );
  } finally {
    await stopSubscribers(workers);
    await platform.stop();
  }
}

await main();
