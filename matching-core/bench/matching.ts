/**
 * `npm run bench:matching` — a program that prints figures (not a timed test).
 *
 * One seeded stream in the exchange-core mix (9 % GTC limit, 3 % IOC, 6 % cancel, 82 % amend/move;
 * ~1,000 resting orders over ~750 levels; 1,000 users) is run:
 *   1. on our core in memory (risk, balances, fees, events included),
 *   2. on our core with the journal (binary records + crc32, group commit with fdatasync),
 *   3. on nodejs-order-book (the peer; no balances), translated to limit / cancel / modify,
 *   4. again on our core, timing every command for the latency percentiles,
 *   5. recovery: replaying the journal written in (2).
 * The last line is the summary the issue asks for.
 *
 * Options: --commands N (default 3,000,000), --seed N, --group N (commands per fsync, default 8,192).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import type { Command } from '@graphex/schema';
import { OrderBook as PeerBook } from 'nodejs-order-book';
import { MatchingEngine } from '../src/engine.ts';
import { JournalWriter } from '../src/journal/journal.ts';
import { journalDir, recover } from '../src/journal/recovery.ts';
import { stateHash } from '../src/state.ts';
import { benchGenerator } from './stream.ts';

// The core runs with a 32 MiB young-generation semi-space (events and results are short-lived
// garbage; the default 16 MiB scavenges twice as often). The bench re-executes itself with the
// flag, exactly as the core process / worker (resourceLimits) is configured.
const RUNTIME_FLAGS = ['--max-semi-space-size=32'];
if (!process.execArgv.some((flag) => flag.startsWith('--max-semi-space-size'))) {
  const child = spawnSync(
    process.execPath,
    [...RUNTIME_FLAGS, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(child.status ?? 1);
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const COMMANDS = option('commands', 3_000_000);
const SEED = option('seed', 42);
const GROUP = option('group', 8_192);

let peakHeapBytes = 0;
const sampleHeap = (): void => {
  const used = getHeapStatistics().used_heap_size;
  if (used > peakHeapBytes) peakHeapBytes = used;
};
const now = (): bigint => process.hrtime.bigint();
const seconds = (from: bigint, to: bigint): number => Number(to - from) / 1e9;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const log = (line: string): void => console.log(line);

// ------------------------------------------------------------------------------------------
// 0. Generate the stream (untimed), tracking open orders through a generator engine. The stream is
// stored as typed arrays (struct of arrays): 3M command objects would make every major GC walk a
// gigabyte of old space and the figures would measure the stream, not the engine. Each timed loop
// builds the command object on the fly, as a core does when commands arrive off a wire.
const generator = benchGenerator(SEED);
const setup = generator.setup();
const generatorEngine = new MatchingEngine();
for (const c of setup) generatorEngine.execute(c);
const KIND_GTC = 0;
const KIND_IOC = 1;
const KIND_CANCEL = 2;
const KIND_AMEND = 3;
const kinds = new Uint8Array(COMMANDS);
const sides = new Uint8Array(COMMANDS);
const userIds = new Uint32Array(COMMANDS);
const targets = new Float64Array(COMMANDS); // order id (cancel / amend)
const prices = new Float64Array(COMMANDS);
const quantities = new Float64Array(COMMANDS);
const firstSeq = setup.length + 1;
const firstTimeMs = setup[setup.length - 1]!.timeMs + 1;
const mix = { limit: 0, ioc: 0, cancel: 0, amend: 0 };
for (let i = 0; i < COMMANDS; i += 1) {
  const c = generator.next();
  generator.observe(generatorEngine.execute(c).events);
  if (c.seq !== firstSeq + i || c.timeMs !== firstTimeMs + i) throw new Error('bench: unexpected stamps');
  userIds[i] = c.type === 'PlaceOrder' || c.type === 'CancelOrder' || c.type === 'AmendOrder' ? c.userId : 0;
  if (c.type === 'PlaceOrder') {
    kinds[i] = c.timeInForce === 'IOC' ? KIND_IOC : KIND_GTC;
    sides[i] = c.side === 'BUY' ? 0 : 1;
    prices[i] = c.priceTicks!;
    quantities[i] = c.quantityLots!;
    if (c.timeInForce === 'IOC') mix.ioc += 1;
    else mix.limit += 1;
  } else if (c.type === 'CancelOrder') {
    kinds[i] = KIND_CANCEL;
    targets[i] = c.orderId;
    mix.cancel += 1;
  } else if (c.type === 'AmendOrder') {
    kinds[i] = KIND_AMEND;
    targets[i] = c.orderId;
    prices[i] = c.priceTicks!;
    mix.amend += 1;
  } else throw new Error(`bench: unexpected ${c.type}`);
  if ((i & 0xffff) === 0) sampleHeap();
}

/** The i-th command of the stream as the core receives it. */
function commandAt(i: number): Command {
  const seq = firstSeq + i;
  const timeMs = firstTimeMs + i;
  switch (kinds[i]) {
    case KIND_GTC:
    case KIND_IOC:
      return {
        type: 'PlaceOrder',
        seq,
        timeMs,
        userId: userIds[i]!,
        marketId: 1,
        side: sides[i] === 0 ? 'BUY' : 'SELL',
        orderType: 'LIMIT',
        timeInForce: kinds[i] === KIND_IOC ? 'IOC' : 'GTC',
        priceTicks: prices[i]!,
        stopPriceTicks: null,
        quantityLots: quantities[i]!,
        quoteBudgetUnits: null,
        postOnly: false,
        selfTradePrevention: 'NONE',
        clientOrderId: null,
      };
    case KIND_CANCEL:
      return { type: 'CancelOrder', seq, timeMs, userId: userIds[i]!, orderId: targets[i]! };
    default:
      return {
        type: 'AmendOrder',
        seq,
        timeMs,
        userId: userIds[i]!,
        orderId: targets[i]!,
        priceTicks: prices[i]!,
        quantityLots: null,
      };
  }
}

const expectedHash = stateHash(generatorEngine);
const openAtEnd = generatorEngine.orders.size;
const levelsAtEnd =
  generatorEngine.markets.get(1)!.book.levels(0, 1e9).length +
  generatorEngine.markets.get(1)!.book.levels(1, 1e9).length;
const pct = (n: number): string => ((100 * n) / COMMANDS).toFixed(1);
log(
  `stream: seed=${SEED} commands=${fmt(COMMANDS)} mix: limit_gtc=${pct(mix.limit)}% ioc=${pct(mix.ioc)}% cancel=${pct(mix.cancel)}% ` +
    `amend_move=${pct(mix.amend)}% users=1,000 open_orders_end=${openAtEnd} levels_end=${levelsAtEnd}`,
);

function freshEngine(): MatchingEngine {
  const engine = new MatchingEngine();
  for (const c of setup) engine.execute(c);
  return engine;
}

// Warm-up on a throwaway engine so every run below sees optimised code.
{
  const warm = freshEngine();
  const n = Math.min(COMMANDS, 500_000);
  for (let i = 0; i < n; i += 1) warm.execute(commandAt(i));
}

// ------------------------------------------------------------------------------------------
// 1–3. Our core in memory, our core journaled, and the peer, in ROUNDS alternating rounds. The
// machine is shared: alternating the three and keeping each one's best round compares them under
// the same conditions (every round's figure is printed too).
const ROUNDS = option('rounds', 3);

/** CPU time of this process since `from` (less sensitive than wall time to other load). */
function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

/** 1. In memory: risk, balances, fees and events included. */
function runCore(): { seconds: number; cpuSeconds: number; events: number } {
  const engine = freshEngine();
  let events = 0;
  const cpu = process.cpuUsage();
  const start = now();
  for (let i = 0; i < COMMANDS; i += 1) events += engine.execute(commandAt(i)).events.length;
  const end = now();
  const cpuSeconds = cpuSecondsSince(cpu);
  sampleHeap();
  if (stateHash(engine) !== expectedHash)
    throw new Error('bench: in-memory run diverged from the generator run');
  return { seconds: seconds(start, end), cpuSeconds, events };
}

/**
 * 2. Journaled: every command appended to the journal; pipelined group commit of GROUP commands
 * (group k+1 is matched while group k's fdatasync runs on the thread pool; a group counts only
 * once its fdatasync returned — that is when its commands would be acknowledged).
 */
async function runJournaled(dataDir: string): Promise<{ seconds: number; bytes: number; commits: number }> {
  const engine = freshEngine();
  const journal = new JournalWriter(journalDir(dataDir), 1);
  for (const c of setup) journal.append(c);
  journal.commit();
  const setupBytes = journal.durableBytes;
  const setupCommits = journal.commits;
  const start = now();
  let inFlight: Promise<void> | null = null;
  for (let i = 0; i < COMMANDS;) {
    const end = Math.min(COMMANDS, i + GROUP);
    for (; i < end; i += 1) {
      const c = commandAt(i);
      journal.append(c);
      engine.execute(c);
    }
    if (inFlight !== null) await inFlight;
    inFlight = journal.commitAsync();
  }
  if (inFlight !== null) await inFlight;
  const end = now();
  journal.close();
  sampleHeap();
  return {
    seconds: seconds(start, end),
    bytes: journal.durableBytes - setupBytes,
    commits: journal.commits - setupCommits,
  };
}

/** 3. The peer on the same stream, translated on the fly: limit (GTC/IOC) / cancel / modify(price). */
function runPeer(count: number): { seconds: number; cpuSeconds: number } {
  const book = new PeerBook();
  const cpu = process.cpuUsage();
  const start = now();
  for (let i = 0; i < count; i += 1) {
    const kind = kinds[i];
    if (kind === KIND_GTC || kind === KIND_IOC) {
      book.limit({
        side: (sides[i] === 0 ? 'buy' : 'sell') as never,
        id: String(firstSeq + i),
        size: quantities[i]!,
        price: prices[i]!,
        timeInForce: (kind === KIND_IOC ? 'IOC' : 'GTC') as never,
      });
    } else if (kind === KIND_CANCEL) book.cancel(String(targets[i]));
    else book.modify(String(targets[i]), { price: prices[i]! });
  }
  const elapsed = seconds(start, now());
  const cpuSeconds = cpuSecondsSince(cpu);
  sampleHeap();
  return { seconds: elapsed, cpuSeconds };
}

runPeer(Math.min(COMMANDS, 500_000)); // warm-up
const dataDir = mkdtempSync(join(tmpdir(), 'graphex-bench-'));
const coreSeconds: number[] = [];
const journaledSeconds: number[] = [];
const peerSeconds: number[] = [];
const coreCpuSeconds: number[] = [];
const peerCpuSeconds: number[] = [];
let eventsTotal = 0;
let journalBytes = 0;
let journalCommits = 0;
for (let round = 1; round <= ROUNDS; round += 1) {
  const core = runCore();
  coreSeconds.push(core.seconds);
  coreCpuSeconds.push(core.cpuSeconds);
  eventsTotal = core.events;
  rmSync(dataDir, { recursive: true, force: true }); // the last round's journal stays for recovery
  const journaled = await runJournaled(dataDir);
  journaledSeconds.push(journaled.seconds);
  journalBytes = journaled.bytes;
  journalCommits = journaled.commits;
  const peer = runPeer(COMMANDS);
  peerSeconds.push(peer.seconds);
  peerCpuSeconds.push(peer.cpuSeconds);
  log(
    `round ${round}/${ROUNDS}: core ${fmt(COMMANDS / core.seconds)} ops/s, journaled ${fmt(COMMANDS / journaled.seconds)} ops/s, ` +
      `peer ${fmt(COMMANDS / peer.seconds)} ops/s | per CPU-second: core ${fmt(COMMANDS / core.cpuSeconds)}, ` +
      `peer ${fmt(COMMANDS / peer.cpuSeconds)}`,
  );
}
const best = (xs: number[]): number => Math.min(...xs);
const opsPerSecond = COMMANDS / best(coreSeconds);
const journaledOpsPerSecond = COMMANDS / best(journaledSeconds);
const peerOpsPerSecond = COMMANDS / best(peerSeconds);
log(
  `per CPU-second (best round; less sensitive to other load on the machine): core ${fmt(COMMANDS / best(coreCpuSeconds))} ops, ` +
    `peer ${fmt(COMMANDS / best(peerCpuSeconds))} ops, ratio ${(best(peerCpuSeconds) / best(coreCpuSeconds)).toFixed(2)}`,
);
log(
  `core in-memory: ${fmt(opsPerSecond)} ops/s (best of ${ROUNDS}: ${best(coreSeconds).toFixed(2)} s, ${fmt(eventsTotal)} events, ` +
    `risk + fees + events included)`,
);
log(
  `core journaled: ${fmt(journaledOpsPerSecond)} ops/s (best of ${ROUNDS}: ${best(journaledSeconds).toFixed(2)} s, ${fmt(journalBytes)} bytes, ` +
    `${fmt(journalCommits)} fdatasyncs, pipelined group commit of ${GROUP} commands)`,
);
log(
  `peer nodejs-order-book: ${fmt(peerOpsPerSecond)} ops/s (best of ${ROUNDS}: ${best(peerSeconds).toFixed(2)} s, ` +
    `book only: no balances, fees or events)`,
);

// ------------------------------------------------------------------------------------------
// 4. Latency per command (separate pass: the timer itself costs tens of ns).
let p50: number;
let p99: number;
let p999: number;
{
  const engine = freshEngine();
  const samples = new Float64Array(COMMANDS);
  for (let i = 0; i < COMMANDS; i += 1) {
    const c = commandAt(i);
    const t0 = now();
    engine.execute(c);
    samples[i] = Number(now() - t0);
  }
  let overhead = Infinity;
  for (let i = 0; i < 10_000; i += 1) {
    const t0 = now();
    const d = Number(now() - t0);
    if (d < overhead) overhead = d;
  }
  samples.sort();
  const at = (q: number): number => samples[Math.min(COMMANDS - 1, Math.floor(q * COMMANDS))]! / 1000;
  p50 = at(0.5);
  p99 = at(0.99);
  p999 = at(0.999);
  sampleHeap();
  log(
    `latency per command: p50=${p50.toFixed(2)}µs p99=${p99.toFixed(2)}µs p99.9=${p999.toFixed(2)}µs max=${(samples[COMMANDS - 1]! / 1000).toFixed(1)}µs ` +
      `(includes timer overhead ≈${overhead}ns)`,
  );
}

// ------------------------------------------------------------------------------------------
// 5. Recovery: replay the journal of run 2.
{
  const start = now();
  const { engine, report } = recover(dataDir);
  const elapsed = seconds(start, now());
  sampleHeap();
  if (stateHash(engine) !== expectedHash)
    throw new Error('bench: recovered state differs from the live state');
  log(
    `recovery: ${fmt(report.replayedCommands)} commands replayed in ${elapsed.toFixed(2)} s = ${fmt(report.replayedCommands / elapsed)} commands/s (hash verified)`,
  );
  rmSync(dataDir, { recursive: true, force: true });
}

log(
  `peak heap: ${(peakHeapBytes / 2 ** 20).toFixed(0)} MiB (whole process: typed-array stream, generator engine, latency samples)`,
);
log(
  `bench:matching ops_per_s=${Math.round(opsPerSecond)} journaled_ops_per_s=${Math.round(journaledOpsPerSecond)} ` +
    `peer_ops_per_s=${Math.round(peerOpsPerSecond)} ratio=${(opsPerSecond / peerOpsPerSecond).toFixed(2)} ` +
    `p50_us=${p50.toFixed(2)} p99_us=${p99.toFixed(2)} p999_us=${p999.toFixed(2)}`,
);
