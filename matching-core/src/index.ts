/**
 * @graphex/matching-core — the deterministic matching engine with risk, journal and snapshots.
 *
 * In-process:   `const engine = createEngine(); engine.execute(command) → { result, events }`
 * Durable:      `DurableCore.open({ dataDir }).executeBatch(inputs, timeMs)` (journal + snapshots)
 * Worker host:  `const core = await startCoreWorker({ dataDir }); await core.submit(input)`
 *
 * Command, result and event types live in @graphex/schema (core-protocol.ts).
 */
export {
  createEngine,
  defaultEngineConfig,
  InvariantError,
  MatchingEngine,
  MAX_ASSET_ID,
  type EngineConfig,
  type ExecuteOutput,
} from './engine.ts';
export { exportState, importState, stateHash, type EngineSnapshot } from './state.ts';
export { MarketMath, feeUnits } from './money.ts';
export { DurableCore, type BatchOutput, type DurableCoreOptions } from './durable-core.ts';
export { recover, type RecoveryReport } from './journal/recovery.ts';
export { startCoreWorker, type CoreWorker, type CoreWorkerOptions } from './worker-host.ts';
export {
  AssetIds,
  MarketIds,
  TestSequencer,
  limitOrder,
  decimalToUnits,
  referenceSetupCommands,
} from './reference-setup.ts';
export {
  createInProcessCoreClient,
  type InProcessCoreClient,
  type InProcessCoreOptions,
} from './client/in-process.ts';
export {
  connectConfiguredCore,
  connectCoreClient,
  CoreUnavailableError,
  type RemoteCoreOptions,
} from './service/remote-client.ts';
export { startCoreService, type CoreServiceOptions, type RunningCoreService } from './service/server.ts';
