/**
 * `npm run start:matching-core`: the matching core as its own service. Recovers from
 * `$DATA_DIR/core` (journal + snapshots + event log), seeds the reference assets and markets on
 * first start, serves the subgraphs over WebSocket on MATCHING_CORE_PORT (default 4010), and
 * snapshots on shutdown.
 */
import { createLogger, loadConfig, runUntilSignal } from '@graphex/runtime';
import { startCoreService } from './service/server.ts';

const config = loadConfig();
const rawPort = process.env['MATCHING_CORE_PORT'];
const port = rawPort === undefined || rawPort === '' ? 4010 : Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`MATCHING_CORE_PORT=${rawPort} is not a TCP port.\n`);
  process.exit(1);
}
await runUntilSignal('matching-core', () =>
  startCoreService(config, { port, logger: createLogger('matching-core', config.logLevel) }),
);
