/**
 * `npm run start:matching-core`: the core as its own process. Recovers from `$DATA_DIR/core`
 * (default ./.data/core), seeds the reference assets and markets on first start, and snapshots on
 * shutdown. The command/event transport to the subgraphs (worker channel in the embedded start,
 * Kafka in production) is wired by the integration issue; until then this process proves recovery
 * and prints what it recovered.
 */
import { join } from 'node:path';
import { DurableCore } from './durable-core.ts';
import { referenceSetupCommands } from './reference-setup.ts';

const dataDir = join(process.env['DATA_DIR'] ?? './.data', 'core');
const core = DurableCore.open({ dataDir });
if (core.lastSeq === 0) core.executeBatch(referenceSetupCommands, Date.now());
console.log(
  JSON.stringify({
    service: 'matching-core',
    event: 'ready',
    dataDir,
    recovery: core.recovery,
    lastSeq: core.lastSeq,
    stateHash: core.stateHash(),
  }),
);

const shutdown = (): void => {
  core.snapshot();
  core.close();
  console.log(JSON.stringify({ service: 'matching-core', event: 'stopped', lastSeq: core.lastSeq }));
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
setInterval(() => {}, 1 << 30);
