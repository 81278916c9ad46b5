/**
 * The engine with durability around it (the I/O edge; the engine itself stays pure):
 * stamp (sequencer) → journal append → execute → group commit (one fdatasync per batch) → results
 * and events are handed out. Periodic snapshots rotate the journal and prune old files.
 */
import { rmSync } from 'node:fs';
import type { Command, CommandInput, CommandResult, CoreEvent } from '@graphex/schema';
import type { EngineConfig, MatchingEngine } from './engine.ts';
import { JournalWriter, listSegments } from './journal/journal.ts';
import { journalDir, recover, snapshotDir, type RecoveryReport } from './journal/recovery.ts';
import { pruneSnapshots, writeSnapshot } from './journal/snapshot-store.ts';
import { exportState, stateHash } from './state.ts';

export interface DurableCoreOptions {
  /** Directory for `journal/` and `snapshots/`. */
  readonly dataDir: string;
  readonly engine?: Partial<EngineConfig>;
  /** Take a snapshot after this many commands (default 1,000,000). */
  readonly snapshotEveryCommands?: number;
  /** Snapshots kept on disk (default 2); journal segments older than the oldest kept are deleted. */
  readonly keepSnapshots?: number;
}

export interface BatchOutput {
  readonly results: CommandResult[];
  readonly events: CoreEvent[];
}

export class DurableCore {
  readonly engine: MatchingEngine;
  readonly recovery: RecoveryReport;
  readonly dataDir: string;
  readonly #journal: JournalWriter;
  readonly #snapshotEvery: number;
  readonly #keepSnapshots: number;
  #sinceSnapshot = 0;

  private constructor(options: DurableCoreOptions, engine: MatchingEngine, recovery: RecoveryReport) {
    this.dataDir = options.dataDir;
    this.engine = engine;
    this.recovery = recovery;
    this.#snapshotEvery = options.snapshotEveryCommands ?? 1_000_000;
    this.#keepSnapshots = options.keepSnapshots ?? 2;
    // Always continue in a fresh segment: the recovered tail segment stays as it was verified.
    this.#journal = new JournalWriter(journalDir(options.dataDir), engine.lastSeq + 1);
  }

  /** Recovers from `dataDir` (empty dir = empty exchange) and opens the journal for appends. */
  static open(options: DurableCoreOptions): DurableCore {
    const { engine, report } = recover(options.dataDir, options.engine ?? {});
    return new DurableCore(options, engine, report);
  }

  get lastSeq(): number {
    return this.engine.lastSeq;
  }

  /**
   * Sequences, journals and applies a batch, then makes it durable with one fdatasync.
   * Nothing from the batch may be shown to anyone before this returns.
   */
  executeBatch(inputs: readonly CommandInput[], timeMs: number): BatchOutput {
    const engine = this.engine;
    const stampTime = Math.max(timeMs, engine.lastTimeMs);
    const commands: Command[] = [];
    for (let i = 0; i < inputs.length; i += 1)
      commands.push({ ...inputs[i]!, seq: engine.lastSeq + 1 + i, timeMs: stampTime } as Command);
    return this.executeSequenced(commands);
  }

  /**
   * Same as `executeBatch` for commands an external sequencer already stamped (contiguous seqs
   * starting at lastSeq + 1) — e.g. a command log partition, or tests that need exact stamps.
   */
  executeSequenced(commands: readonly Command[]): BatchOutput {
    const engine = this.engine;
    const results: CommandResult[] = [];
    const events: CoreEvent[] = [];
    for (const command of commands) {
      if (command.seq !== engine.lastSeq + 1)
        throw new Error(`out of sequence: ${command.seq} after ${engine.lastSeq}`);
      this.#journal.append(command);
      const out = engine.execute(command);
      results.push(out.result);
      for (const event of out.events) events.push(event);
    }
    this.#journal.commit();
    this.#sinceSnapshot += commands.length;
    if (this.#sinceSnapshot >= this.#snapshotEvery) this.snapshot();
    return { results, events };
  }

  /**
   * Pipelined group commit, step 1: journals (in memory) and applies a batch. Its output must not
   * be shown to anyone until the promise of `commitStaged()` for it resolved.
   */
  stageBatch(inputs: readonly CommandInput[], timeMs: number): BatchOutput {
    const engine = this.engine;
    const stampTime = Math.max(timeMs, engine.lastTimeMs);
    const results: CommandResult[] = [];
    const events: CoreEvent[] = [];
    for (const input of inputs) {
      const command = { ...input, seq: engine.lastSeq + 1, timeMs: stampTime } as Command;
      this.#journal.append(command);
      const out = engine.execute(command);
      results.push(out.result);
      for (const event of out.events) events.push(event);
    }
    this.#sinceSnapshot += inputs.length;
    return { results, events };
  }

  /**
   * Step 2: writes + fdatasyncs everything staged so far on the thread pool. Matching of the next
   * batch may overlap it; at most one commit may be in flight (await it before the next one).
   */
  commitStaged(): Promise<void> {
    return this.#journal.commitAsync();
  }

  /** True when enough commands passed since the last snapshot (call `snapshot()` when idle). */
  get snapshotDue(): boolean {
    return this.#sinceSnapshot >= this.#snapshotEvery;
  }

  /** Writes a snapshot of the current state, rotates the journal and prunes old files. */
  snapshot(): string {
    this.engine.assertInvariants();
    const path = writeSnapshot(snapshotDir(this.dataDir), exportState(this.engine));
    this.#journal.rotate(this.engine.lastSeq + 1);
    this.#sinceSnapshot = 0;
    const oldestKept = pruneSnapshots(snapshotDir(this.dataDir), this.#keepSnapshots);
    const segments = listSegments(journalDir(this.dataDir));
    for (let i = 0; i + 1 < segments.length; i += 1) {
      if (segments[i + 1]!.firstSeq - 1 <= oldestKept) rmSync(segments[i]!.path, { force: true });
    }
    return path;
  }

  stateHash(): string {
    return stateHash(this.engine);
  }

  close(): void {
    this.#journal.close();
  }
}
