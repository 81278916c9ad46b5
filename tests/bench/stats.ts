/** Small helpers for benchmark programs: percentiles, a seeded PRNG, process memory, HTTP. */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export function percentile(sortedValues: readonly number[], p: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const index = Math.min(sortedValues.length - 1, Math.ceil((p / 100) * sortedValues.length) - 1);
  return sortedValues[Math.max(0, index)]!;
}

export function summarize(values: number[]): { p50: number; p99: number; max: number; count: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    count: sorted.length,
  };
}

/** Deterministic PRNG (mulberry32) so every run sends the same workload. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resident set size of a process in MiB (Linux), 0 when unknown. */
export function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return Math.round(kib / 1024);
  } catch {
    return 0;
  }
}

export function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

export const round2 = (value: number): number => Math.round(value * 100) / 100;

/** CPU time (user + system) a process has used so far, in seconds (Linux), 0 when unknown. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return ticks / 100; // USER_HZ
  } catch {
    return 0;
  }
}

/** Kept-alive connections for `postJson`: one per concurrent client, reused request after request. */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 1024 });

/**
 * One request on a kept-alive socket; resolves with the parsed JSON answer. The load generator
 * shares the machine with the platform it measures: `node:http` costs it about half the CPU of
 * `fetch` (no WHATWG streams, Request or Response objects per call).
 */
function requestJson<T>(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | null,
  requireOk: boolean,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const outgoing = request(url, { method, agent: keepAlive, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        if (requireOk && response.statusCode !== 200)
          return reject(new Error(`HTTP ${response.statusCode} from ${url}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch (error) {
          reject(new Error(`HTTP ${response.statusCode} from ${url} is not JSON: ${String(error)}`));
        }
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body ?? undefined);
  });
}

/** POSTs a JSON body and parses the JSON answer, whatever the status. */
export function postJson<T>(url: string, headers: Record<string, string>, body: unknown): Promise<T> {
  const text = JSON.stringify(body);
  return requestJson<T>(
    url,
    'POST',
    { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers },
    text,
    false,
  );
}

/** GETs a JSON document; rejects on a status other than 200. */
export function getJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  return requestJson<T>(url, 'GET', headers, null, true);
}
