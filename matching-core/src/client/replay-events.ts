/**
 * Regenerates the events of already-journaled commands. Used when the event log ends behind the
 * journal (a crash after the journal's fsync and before the event log's): determinism (DESIGN rule
 * 2) guarantees the replayed events are exactly the ones the live engine produced.
 */
import { readFileSync } from 'node:fs';
import type { CoreEvent, EngineConfigLike } from './replay-types.ts';
import { MatchingEngine } from '../engine.ts';
import { importState } from '../state.ts';
import { scanRecords } from '../journal/codec.ts';
import { listSegments } from '../journal/journal.ts';
import { journalDir, snapshotDir } from '../journal/recovery.ts';
import { listSnapshots, readSnapshot } from '../journal/snapshot-store.ts';

/** Events of every journaled command with `seq > afterSeq`, in order. */
export function replayEventsAfter(
  dataDir: string,
  afterSeq: number,
  config: EngineConfigLike = {},
): CoreEvent[] {
  let engine: MatchingEngine | null = null;
  for (const candidate of listSnapshots(snapshotDir(dataDir))) {
    if (candidate.lastSeq > afterSeq) continue;
    const snapshot = readSnapshot(candidate.path);
    if (snapshot === null || snapshot.lastSeq !== candidate.lastSeq) continue;
    engine = importState(snapshot, config);
    break;
  }
  engine ??= new MatchingEngine(config);
  const events: CoreEvent[] = [];
  const live = engine;
  for (const segment of listSegments(journalDir(dataDir))) {
    scanRecords(readFileSync(segment.path), (command) => {
      if (command.seq <= live.lastSeq) return;
      if (command.seq !== live.lastSeq + 1) {
        throw new Error(
          `Cannot regenerate core events after seq ${afterSeq}: the journal no longer holds seq ${live.lastSeq + 1}. ` +
            'Restore the event log from a backup or rebuild consumers from a new log.',
        );
      }
      const out = live.execute(command);
      if (command.seq > afterSeq) for (const event of out.events) events.push(event);
    });
  }
  return events;
}
