/**
 * Recovery = newest valid snapshot + replay of every journaled command after it.
 * A torn final record (crash mid-write) is detected by length + crc32, dropped and truncated away;
 * damage anywhere but the tail of the newest segment is corruption and stops recovery loudly.
 */
import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { MatchingEngine, assert, type EngineConfig } from '../engine.ts';
import { importState } from '../state.ts';
import { scanRecords } from './codec.ts';
import { listSegments } from './journal.ts';
import { listSnapshots, readSnapshot } from './snapshot-store.ts';

export interface RecoveryReport {
  /** lastSeq of the snapshot used (0 = started from empty). */
  readonly snapshotSeq: number;
  readonly replayedCommands: number;
  readonly lastSeq: number;
  /** Bytes of a torn tail that were dropped (0 when the journal ended cleanly). */
  readonly truncatedBytes: number;
  readonly damagedSnapshots: number;
}

export function journalDir(dataDir: string): string {
  return join(dataDir, 'journal');
}
export function snapshotDir(dataDir: string): string {
  return join(dataDir, 'snapshots');
}

export function recover(
  dataDir: string,
  config: Partial<EngineConfig> = {},
  options: { readonly truncateTornTail?: boolean } = {},
): { engine: MatchingEngine; report: RecoveryReport } {
  let engine: MatchingEngine | null = null;
  let damagedSnapshots = 0;
  for (const candidate of listSnapshots(snapshotDir(dataDir))) {
    const snapshot = readSnapshot(candidate.path);
    if (snapshot === null || snapshot.lastSeq !== candidate.lastSeq) {
      damagedSnapshots += 1;
      continue;
    }
    engine = importState(snapshot, config);
    break;
  }
  engine ??= new MatchingEngine(config);
  const snapshotSeq = engine.lastSeq;
  let replayedCommands = 0;
  let truncatedBytes = 0;
  const segments = listSegments(journalDir(dataDir));
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    const next = segments[i + 1];
    // Segments wholly covered by the snapshot need not be read.
    if (next !== undefined && next.firstSeq - 1 <= engine.lastSeq) continue;
    const bytes = readFileSync(segment.path);
    const live = engine;
    const scan = scanRecords(bytes, (command) => {
      if (command.seq <= live.lastSeq) return;
      const { result } = live.execute(command);
      assert(result.code !== 105, `journal gap: expected seq ${live.lastSeq + 1}, found ${command.seq}`);
      replayedCommands += 1;
    });
    if (scan.torn) {
      assert(next === undefined, `journal segment ${segment.path} is damaged before its end`);
      truncatedBytes = bytes.length - scan.validBytes;
      if (options.truncateTornTail !== false) truncateSync(segment.path, scan.validBytes);
    }
  }
  engine.assertInvariants();
  return {
    engine,
    report: { snapshotSeq, replayedCommands, lastSeq: engine.lastSeq, truncatedBytes, damagedSnapshots },
  };
}
