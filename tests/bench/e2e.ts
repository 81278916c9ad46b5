/**
 * `npm run bench:e2e`: 64 concurrent authenticated clients place and cancel orders through the
 * gateway on the embedded start (the real processes) while subscribed to `myFills`; then the same
 * mutations go straight to the orders subgraph (with the gateway-signed identity) in the same run.
 * Prints orders/s, placeOrder p50/p99, fill-to-subscriber p50/p99 and the gateway/direct ratio.
 *
 *   npm run bench:e2e -- --clients 64 --seconds 20 [--warmup 3]
 *
 * Both paths first run `--warmup` seconds unmeasured (the JIT compiles the hot paths; the gateway's
 * first seconds cost it nearly twice as much CPU per request as the rest), then the measured phases.
 */
import { signInternalIdentity, loadConfig, type Identity } from '@graphex/runtime';
import { connectWs, gqlOk, startPlatform, type Platform } from '../harness/index.ts';
import { argValue, cpuSeconds, postJson, round2, seededRandom, summarize } from './stats.ts';

const clientCount = argValue('clients', 64);
const seconds = argValue('seconds', 20);
const warmupSeconds = process.argv.includes('--warmup')
  ? Number(process.argv[process.argv.indexOf('--warmup') + 1])
  : 3;
const config = loadConfig({ NODE_ENV: 'test' });

const placeOrder = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;
const cancelOrder = `mutation Cancel($id: ID!) { cancelOrder(id: $id) { id status } }`;

interface Trader {
  readonly userId: string;
  readonly token: string;
  readonly identityToken: string;
}

type Answer = {
  data?: Record<string, { id: string; status: string }>;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
};

const post = (
  url: string,
  headers: Record<string, string>,
  query: string,
  variables: Record<string, unknown>,
) => postJson<Answer>(url, headers, { query, variables });

/**
 * CPU milliseconds each platform process (and this program) spent per order during a phase: what
 * an order costs where, independent of how busy the machine was with other work meanwhile.
 */
function cpuMeter(platform: Platform): () => string {
  const pids = [...platform.processes].map(([name, p]) => [name, p.child.pid] as const);
  const start = new Map(pids.map(([name, pid]) => [name, cpuSeconds(pid)]));
  const benchStart = process.cpuUsage();
  return () => {
    const used: Array<readonly [string, number]> = pids.map(([name, pid]) => [
      name,
      cpuSeconds(pid) - start.get(name)!,
    ]);
    const bench = process.cpuUsage(benchStart);
    used.push(['bench', (bench.user + bench.system) / 1e6]);
    return used.map(([name, seconds]) => `${name}=${seconds.toFixed(1)}`).join(' ');
  };
}

async function runPhase(
  label: string,
  url: string,
  traders: readonly Trader[],
  headersOf: (trader: Trader) => Record<string, string>,
  platform: Platform,
  durationSeconds = seconds,
): Promise<{ ordersPerSecond: number; latencies: number[]; errors: Map<string, number> }> {
  const cpu = cpuMeter(platform);
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let orders = 0;
  const deadline = performance.now() + durationSeconds * 1000;
  const started = performance.now();
  await Promise.all(
    traders.map(async (trader, index) => {
      const random = seededRandom(index + 1);
      const headers = headersOf(trader);
      while (performance.now() < deadline) {
        // Prices straddle 50,000 so about a third of the orders cross and trade.
        const side = random() < 0.5 ? 'BUY' : 'SELL';
        const offsetTicks = Math.floor(random() * 40) - 13;
        const priceCents = 5_000_000 + (side === 'BUY' ? -offsetTicks : offsetTicks) * 100;
        const price = `${Math.floor(priceCents / 100)}.${String(priceCents % 100).padStart(2, '0')}`;
        const t0 = performance.now();
        const placed = await post(url, headers, placeOrder, {
          input: { symbol: 'BTC-USDT', side, type: 'LIMIT', price, quantity: '0.001' },
        });
        latencies.push(performance.now() - t0);
        orders += 1;
        if (placed.errors) {
          const code = placed.errors[0]?.extensions?.code ?? placed.errors[0]?.message ?? 'unknown';
          errors.set(code, (errors.get(code) ?? 0) + 1);
          continue;
        }
        const order = placed.data!['placeOrder']!;
        if (order.status === 'OPEN' || order.status === 'PARTIALLY_FILLED') {
          const cancelled = await post(url, headers, cancelOrder, { id: order.id });
          if (cancelled.errors) {
            const code = cancelled.errors[0]?.extensions?.code ?? 'unknown';
            if (code !== 'ORDER_NOT_OPEN')
              errors.set(`cancel:${code}`, (errors.get(`cancel:${code}`) ?? 0) + 1);
          }
        }
      }
    }),
  );
  const elapsedSeconds = (performance.now() - started) / 1000;
  const ordersPerSecond = orders / elapsedSeconds;
  const s = summarize(latencies);
  console.log(
    `${label}: ${orders} orders in ${round2(elapsedSeconds)} s = ${Math.round(ordersPerSecond)} orders/s, placeOrder p50=${round2(s.p50)} ms p99=${round2(s.p99)} ms${errors.size ? `, errors ${JSON.stringify(Object.fromEntries(errors))}` : ''}`,
  );
  console.log(`${label}: CPU seconds per process over the phase: ${cpu()}`);
  return { ordersPerSecond, latencies, errors };
}

async function main(): Promise<void> {
  console.log(
    `bench:e2e — ${clientCount} clients, ${seconds} s per phase, embedded start (PGlite, in-process bus)`,
  );
  const platform: Platform = await startPlatform({
    env: {
      EXCHANGE_ADMIN_EMAIL: 'bench-admin@graphex.test',
      EXCHANGE_ADMIN_PASSWORD: 'Bench-admin-2026',
      LOG_LEVEL: 'error',
      // The benchmark measures the trading path, not the abuse limits (all clients share one IP).
      GATEWAY_RATE_LIMIT_PER_IP: '100000000',
      GATEWAY_RATE_LIMIT_PER_IDENTITY: '100000000',
      GATEWAY_SIGNIN_LIMIT_PER_IP: '100000',
    },
  });
  const url = platform.gatewayUrl;
  const subscribers: Array<{ dispose(): Promise<void> }> = [];
  try {
    const admin = await gqlOk<{ login: { accessToken: string } }>(
      url,
      `mutation { login(input: { email: "bench-admin@graphex.test", password: "Bench-admin-2026" }) { accessToken } }`,
    );
    const traders: Trader[] = [];
    for (let i = 0; i < clientCount; i += 1) {
      const registered = await gqlOk<{ register: { accessToken: string; user: { id: string } } }>(
        url,
        `mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
        { input: { email: `bot${i}@bench.test`, password: 'bench-password-2026' } },
      );
      const userId = registered.register.user.id;
      for (const [currency, amount] of [
        ['USDT', '10000000'],
        ['BTC', '1000'],
      ] as const) {
        await gqlOk(
          url,
          `mutation ($u: ID!, $c: String!, $a: Decimal!) { adminAdjustBalance(userId: $u, currency: $c, amount: $a, reason: "bench") { available } }`,
          { u: userId, c: currency, a: amount },
          admin.login.accessToken,
        );
      }
      const identity: Identity = { kind: 'user', userId, role: 'USER', sessionId: null };
      traders.push({
        userId,
        token: registered.register.accessToken,
        identityToken: await signInternalIdentity(identity, config.internalTokenSecret, 3600),
      });
    }

    // Every client subscribes to its fills through the gateway; latency = arrival − trade time.
    const fillLatencies: number[] = [];
    let fills = 0;
    for (const trader of traders) {
      const client = connectWs(url, trader.token);
      const unsubscribe = client.subscribe<{ myFills: { createdAt: string } }>(
        { query: `subscription { myFills { tradeId createdAt order { id market { symbol } } } }` },
        {
          next: (result) => {
            if (!result.data) return;
            fills += 1;
            fillLatencies.push(Date.now() - Date.parse(result.data.myFills.createdAt));
          },
          error: (error) => console.error('myFills subscription error', error),
          complete: () => undefined,
        },
      );
      subscribers.push({
        dispose: async () => {
          unsubscribe();
          await client.dispose();
        },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));

    if (warmupSeconds > 0) {
      const gatewayHeaders = (t: Trader) => ({ authorization: `Bearer ${t.token}` });
      const directHeaders = (t: Trader) => ({ 'x-graphex-identity': t.identityToken });
      await runPhase(
        'warm-up (not measured), gateway',
        url,
        traders,
        gatewayHeaders,
        platform,
        warmupSeconds,
      );
      await runPhase(
        'warm-up (not measured), direct ',
        platform.urls.orders,
        traders,
        directHeaders,
        platform,
        warmupSeconds,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      fillLatencies.length = 0;
      fills = 0;
    }

    const gateway = await runPhase(
      'gateway',
      url,
      traders,
      (t) => ({ authorization: `Bearer ${t.token}` }),
      platform,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const fillStats = summarize(fillLatencies);
    const direct = await runPhase(
      'direct ',
      platform.urls.orders,
      traders,
      (t) => ({ 'x-graphex-identity': t.identityToken }),
      platform,
    );
    const placeStats = summarize(gateway.latencies);
    const ratio = gateway.ordersPerSecond / direct.ordersPerSecond;
    console.log(`fills delivered to subscribers (gateway phase): ${fills}`);
    console.log(
      `bench:e2e orders_per_s=${Math.round(gateway.ordersPerSecond)} place_p50_ms=${round2(placeStats.p50)} place_p99_ms=${round2(placeStats.p99)} fill_p50_ms=${round2(fillStats.p50)} fill_p99_ms=${round2(fillStats.p99)} direct_orders_per_s=${Math.round(direct.ordersPerSecond)} ratio=${round2(ratio)}`,
    );
  } finally {
    await Promise.all(subscribers.map((s) => s.dispose()));
    await platform.stop();
  }
}

await main();
