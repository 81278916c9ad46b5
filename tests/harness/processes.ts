/**
 * The one end-to-end harness: starts the real service processes (each subgraph, the gateway) on free
 * ports with a private DATA_DIR, waits until each is ready, and always tears everything down —
 * including the PostgreSQL schemas it created when DATABASE_URL is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const subgraphNames = ['identity', 'ledger', 'orders', 'market-data', 'wallets'] as const;
export type ServiceName = (typeof subgraphNames)[number] | 'gateway' | 'matching-core';

/** The kernel's ephemeral port range: `listen(0)` and every outgoing connection take ports from it. */
function ephemeralPortRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // Not Linux: the IANA dynamic range is the usual default.
  }
  return [49152, 65535];
}

/** Ports this process handed out (two platforms of one test file never share one). */
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port for a process the harness starts later. Taken below the ephemeral range: a port from
 * `listen(0)` is free now, but by the time the process binds it (seconds later, once the services
 * before it are ready) any outgoing connection of the parallel tests may be using it as its local
 * port, and the start fails with EADDRINUSE. Below that range only listeners compete, and the port
 * is checked free and picked at random, so parallel test files rarely even try the same one.
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralPortRange();
  const low = 10_000;
  const high = ephemeralLow - 1;
  for (let attempt = 0; high - low > 1_000 && attempt < 100; attempt += 1) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  // No room below the ephemeral range (an unusual kernel setting): let the kernel choose.
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[];
  /** Resolves with the first stdout line matching `pattern` (its first capture group). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnNode(name: string, entry: string, env: NodeJS.ProcessEnv): ManagedProcess {
  const child = spawn(process.execPath, [path.join(repoRoot, entry)], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (value: string) => void }> = [];
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let index: number;
    while ((index = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, index);
      pending = pending.slice(index + 1);
      output.push(line);
      for (const waiter of [...waiters]) {
        const match = waiter.pattern.exec(line);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match[1] ?? line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    output.push(
      ...chunk
        .split('\n')
        .filter(Boolean)
        .map((l) => `stderr: ${l}`),
    );
    if (process.env['HARNESS_VERBOSE']) process.stderr.write(`[${name}] ${chunk}`);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    output,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise<string>((resolve, reject) => {
        for (const line of output) {
          const match = pattern.exec(line);
          if (match) return resolve(match[1] ?? line);
        }
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `${name}: no line matching ${pattern} within ${timeoutMs} ms.\n${output.slice(-30).join('\n')}`,
              ),
            ),
          timeoutMs,
        );
        void exited.then((code) => {
          clearTimeout(timer);
          reject(
            new Error(`${name} exited with code ${code} before ${pattern}.\n${output.slice(-30).join('\n')}`),
          );
        });
        waiters.push({
          pattern,
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value);
          },
        });
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill(signal);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface PlatformOptions {
  /** Extra environment for every process. */
  readonly env?: Record<string, string>;
  /** Reuse a data directory (to test restarts); a fresh temp directory otherwise. */
  readonly dataDir?: string;
}

export interface Platform {
  readonly gatewayUrl: string;
  readonly urls: Readonly<Record<ServiceName, string>>;
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly processes: ReadonlyMap<ServiceName, ManagedProcess>;
  /** Stops one service and starts it again on the same port and data. */
  restart(name: ServiceName): Promise<void>;
  /** Stops every process; removes the temp data dir and PostgreSQL schemas unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

function entryOf(name: ServiceName): string {
  if (name === 'gateway') return 'gateway/src/main.ts';
  if (name === 'matching-core') return 'matching-core/src/main.ts';
  return `subgraphs/${name}/src/main.ts`;
}

function envKey(name: string): string {
  return name.toUpperCase().replace('-', '_');
}

/** Starts the whole platform as real processes: five subgraphs, then the gateway. */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'graphex-e2e-')));
  const schemaPrefix = `e2e_${randomBytes(4).toString('hex')}_`;
  const ports = new Map<ServiceName, number>();
  for (const name of [...subgraphNames, 'gateway', 'matching-core'] as const)
    ports.set(name, await freePort());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    DATA_DIR: dataDir,
    DATABASE_SCHEMA_PREFIX: process.env['DATABASE_SCHEMA_PREFIX'] ?? schemaPrefix,
    PORT: String(ports.get('gateway')),
    MATCHING_CORE_PORT: String(ports.get('matching-core')),
    MATCHING_CORE_URL: `ws://127.0.0.1:${ports.get('matching-core')}/core`,
    ...options.env,
  };
  for (const name of subgraphNames) {
    env[`${envKey(name)}_PORT`] = String(ports.get(name));
    env[`${envKey(name)}_URL`] = `http://127.0.0.1:${ports.get(name)}/graphql`;
  }
  const processes = new Map<ServiceName, ManagedProcess>();
  const urls = {} as Record<ServiceName, string>;
  const launch = async (name: ServiceName): Promise<void> => {
    const proc = spawnNode(name, entryOf(name), env);
    processes.set(name, proc);
    urls[name] = await proc.waitFor(/ ready at (\S+)$/, 180_000);
  };
  const stopAll = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((p) => p.stop()));
  };
  try {
    await launch('matching-core');
    await Promise.all(subgraphNames.map((name) => launch(name)));
    await launch('gateway');
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    gatewayUrl: urls.gateway,
    urls,
    dataDir,
    env,
    processes,
    restart: async (name) => {
      await processes.get(name)?.stop();
      await launch(name);
    },
    stop: async ({ keepData = false } = {}) => {
      await stopAll();
      if (keepData) return;
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
      if (env['DATABASE_URL'] && !process.env['DATABASE_SCHEMA_PREFIX'])
        await dropSchemas(env['DATABASE_URL'], schemaPrefix);
    },
  };
}

export async function dropSchemas(databaseUrl: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 || '%'",
      [prefix],
    );
    for (const { nspname } of rows) await client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}
