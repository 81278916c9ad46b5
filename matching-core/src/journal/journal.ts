/**
 * Append-only journal of commands, in segments `journal-<firstSeq>.log` under one directory.
 *
 * Group commit: `append()` only encodes into memory; `commit()` writes everything pending with one
 * write and one fdatasync. The caller acknowledges commands (and releases their events) only after
 * `commit()` returned — ack after durable (DESIGN.md rule 3).
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Command } from '@graphex/schema';
import { RecordWriter } from './codec.ts';

const SEGMENT_PATTERN = /^journal-(\d{20})\.log$/;

export function segmentName(firstSeq: number): string {
  return `journal-${String(firstSeq).padStart(20, '0')}.log`;
}

/** Journal segments of a directory, oldest first. */
export function listSegments(dir: string): { readonly firstSeq: number; readonly path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, match: SEGMENT_PATTERN.exec(name) }))
    .filter((x) => x.match !== null)
    .map((x) => ({ firstSeq: Number(x.match![1]), path: join(dir, x.name) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

/** fsync a directory so a created/renamed file's entry is durable too. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class JournalWriter {
  readonly dir: string;
  #records = new RecordWriter();
  /** Second buffer for pipelined commits: appends continue here while the other one is written. */
  #spare = new RecordWriter();
  #inFlight: Promise<void> | null = null;
  #fd: number;
  #pendingCommands = 0;
  /** Bytes and commands made durable so far (for figures). */
  durableBytes = 0;
  durableCommands = 0;
  commits = 0;

  /** Opens a new segment whose first command will be `firstSeq`. */
  constructor(dir: string, firstSeq: number) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.#fd = openSync(join(dir, segmentName(firstSeq)), 'a');
    fsyncDir(dir);
  }

  get pendingCommands(): number {
    return this.#pendingCommands;
  }

  get pendingBytes(): number {
    return this.#records.offset;
  }

  append(command: Command): void {
    this.#records.writeCommand(command);
    this.#pendingCommands += 1;
  }

  /**
   * Pipelined group commit: hands everything appended so far to the thread pool (write +
   * fdatasync) and returns at once; the promise resolves when those records are durable. Appends
   * continue into a second buffer meanwhile, so matching overlaps the disk wait. At most one
   * commit is in flight: await the previous promise before starting the next.
   */
  commitAsync(): Promise<void> {
    if (this.#inFlight !== null) throw new Error('journal: a commit is already in flight');
    const full = this.#records;
    const bytes = full.offset;
    if (bytes === 0) return Promise.resolve();
    const commands = this.#pendingCommands;
    this.#records = this.#spare;
    this.#spare = full;
    this.#pendingCommands = 0;
    const fd = this.#fd;
    // The write is a memcpy into the page cache: do it now, so the thread pool only waits for the
    // device. (Chaining write → fdatasync through callbacks would start the sync only when the
    // busy main thread next yields, and serialise the disk wait with matching again.)
    let written = 0;
    while (written < bytes) written += writeSync(fd, full.buffer, written, bytes - written);
    const promise = new Promise<void>((resolve, reject) => {
      fdatasync(fd, (syncError) => {
        this.#inFlight = null;
        if (syncError) return reject(syncError);
        full.reset();
        this.durableBytes += bytes;
        this.durableCommands += commands;
        this.commits += 1;
        resolve();
      });
    });
    this.#inFlight = promise;
    return promise;
  }

  /** Writes and fdatasyncs everything appended since the last commit. */
  commit(): void {
    if (this.#inFlight !== null) throw new Error('journal: await the pipelined commit first');
    const bytes = this.#records.offset;
    if (bytes === 0) return;
    let written = 0;
    while (written < bytes) written += writeSync(this.#fd, this.#records.buffer, written, bytes - written);
    fdatasyncSync(this.#fd);
    this.durableBytes += bytes;
    this.durableCommands += this.#pendingCommands;
    this.commits += 1;
    this.#records.reset();
    this.#pendingCommands = 0;
  }

  /** Commits, closes the current segment and starts `journal-<firstSeq>.log`. */
  rotate(firstSeq: number): void {
    this.commit();
    closeSync(this.#fd);
    this.#fd = openSync(join(this.dir, segmentName(firstSeq)), 'a');
    fsyncDir(this.dir);
  }

  close(): void {
    this.commit();
    closeSync(this.#fd);
  }
}
