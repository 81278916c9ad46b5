/**
 * Process lifecycle for a service started alone (`npm run start:<name>`): start, print where it
 * listens, stop cleanly on SIGINT/SIGTERM, and exit non-zero with a readable reason on failure.
 */
import type { RunningService } from './subgraph-service.ts';

export async function runUntilSignal(name: string, start: () => Promise<RunningService>): Promise<void> {
  let service: RunningService;
  try {
    service = await start();
  } catch (error) {
    process.stderr.write(`${name} failed to start: ${(error as Error).message}\n`);
    if (process.env['LOG_LEVEL'] === 'debug') process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  }
  // Parent launchers read this line to learn the URL; keep its shape stable.
  process.stdout.write(`${name} ready at ${service.url}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      process.stderr.write(`${name}: shutdown took more than 10s after ${signal}, exiting.\n`);
      process.exit(1);
    }, 10_000);
    timer.unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name}: error during shutdown: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
