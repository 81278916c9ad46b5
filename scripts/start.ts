/**
 * `npm start`: the whole exchange on one machine with the embedded defaults. Starts every subgraph
 * as its own process on its own port, then the gateway, prints where everything listens, and stops
 * everything cleanly on SIGINT/SIGTERM. Each service can also run alone: `npm run start:<name>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  loadConfig,
  matchingCorePort,
  serviceNames,
  subgraphPort,
  type SubgraphName,
} from '@graphex/runtime';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const startedAt = performance.now();

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly ready: Promise<string>;
}

function entryOf(name: SubgraphName | 'gateway'): string {
  return name === 'gateway' ? 'gateway/src/main.ts' : `subgraphs/${name}/src/main.ts`;
}

async function assertPortFree(port: number, what: string, envName: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new ConfigError(
          error.code === 'EADDRINUSE'
            ? `Port ${port} for ${what} is already in use. Stop the other process (maybe an earlier npm start) or set ${envName} to a free port.`
            : `Cannot listen on port ${port} for ${what}: ${error.message}`,
        ),
      );
    });
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

function startChild(name: string, entry: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [path.join(root, entry)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const match = / ready at (\S+)$/.exec(line);
        if (match) resolve(match[1]!);
        else if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`)),
    );
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim()) process.stderr.write(`[${name}] ${line}\n`);
  });
  return { name, process: child, ready };
}

function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kib / 1024);
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const children: Child[] = [];
  let shuttingDown = false;

  const shutdown = async (reason: string, exitCode: number): Promise<never> => {
    if (!shuttingDown) {
      shuttingDown = true;
      process.stdout.write(`\nStopping GraphEx (${reason})...\n`);
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.process.kill('SIGKILL'), 12_000);
              child.process.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.process.kill('SIGTERM');
            }),
        ),
      );
      process.stdout.write('GraphEx stopped.\n');
    }
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  await assertPortFree(config.gatewayPort, 'the gateway', 'PORT');
  await assertPortFree(matchingCorePort(), 'the matching core', 'MATCHING_CORE_PORT');
  for (const name of serviceNames) {
    await assertPortFree(
      subgraphPort(name),
      `the ${name} subgraph`,
      `${name.toUpperCase().replace('-', '_')}_PORT`,
    );
  }

  process.stdout.write(
    `GraphEx starting (data in ${config.dataDir}, database: ${config.databaseUrl ? 'PostgreSQL' : 'embedded PGlite'})\n`,
  );
  if (!config.adminEmail) {
    process.stdout.write(
      '  hint: set EXCHANGE_ADMIN_EMAIL and EXCHANGE_ADMIN_PASSWORD to create an admin user on first start\n',
    );
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: config.dataDir,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
  };

  const urls = new Map<string, string>();
  try {
    // The core first: the subgraphs connect to it (commands in, events out).
    const core = startChild('matching-core', 'matching-core/src/main.ts', env);
    children.push(core);
    const coreUrl = await core.ready;
    urls.set('matching-core', coreUrl);
    env['MATCHING_CORE_URL'] = coreUrl;
    process.stdout.write(`  ✓ ${'matching-core'.padEnd(13)} ${coreUrl}\n`);
    const subgraphs = serviceNames.map((name) => startChild(name, entryOf(name), env));
    children.push(...subgraphs);
    // Subgraphs start in parallel; print each as it becomes ready, fail on the first that dies.
    await Promise.all(
      subgraphs.map(async (child) => {
        urls.set(child.name, await child.ready);
        process.stdout.write(`  ✓ ${child.name.padEnd(13)} ${urls.get(child.name)}\n`);
      }),
    );
    const gateway = startChild('gateway', entryOf('gateway'), env);
    children.push(gateway);
    urls.set('gateway', await gateway.ready);
  } catch (error) {
    process.stderr.write(`\nGraphEx failed to start: ${(error as Error).message}\n`);
    return shutdown('start-up failure', 1);
  }

  for (const child of children) {
    child.process.once('exit', (code, signal) => {
      if (!shuttingDown) {
        process.stderr.write(
          `${child.name} stopped unexpectedly (code ${code}, signal ${signal}); stopping GraphEx.\n`,
        );
        void shutdown(`${child.name} failed`, 1);
      }
    });
  }

  const elapsedMs = Math.round(performance.now() - startedAt);
  const memory = children.reduce((sum, child) => sum + rssMiB(child.process.pid), rssMiB(process.pid));
  const gatewayUrl = urls.get('gateway')!;
  process.stdout.write(
    [
      '',
      `GraphEx is ready in ${elapsedMs} ms (${memory} MiB resident in ${children.length + 1} processes)`,
      `  GraphQL API   ${gatewayUrl}`,
      `  GraphiQL      ${gatewayUrl} (open in a browser)`,
      `  Health        ${gatewayUrl.replace(/\/graphql$/, '/health')}`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`Configuration error: ${error.message}\n`);
  } else {
    process.stderr.write(`GraphEx failed to start: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exit(1);
});
