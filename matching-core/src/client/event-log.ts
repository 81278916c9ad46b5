/**
 * The core's event log as consumers read it: append-only JSON lines, one line per committed
 * batch: `{"lastSeq":N,"events":[...]}` (public events, user ids already translated). Consumers
 * resume by `eventSeq`; a small in-memory index maps batches to file offsets, and the newest
 * batches stay in memory so live consumers never touch the disk.
 *
 * Durability comes from the journal, not from this file: a batch is appended only after its
 * commands were fdatasynced to the journal, and whatever tail of this log a crash loses (or leaves
 * torn, or as garbage after a power cut) is regenerated at start by deterministic replay of the
 * journal, byte for byte the same events. So appends do not fsync on the core service's event loop
 * (that was a third of its time under load); a background fsync, at most every
 * `backgroundSyncMs`, only bounds how much a restart after a power cut has to replay.
 */
import {
  closeSync,
  existsSync,
  fsync,
  fsyncSync,
  openSync,
  readSync,
  fstatSync,
  ftruncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { decodeWire, encodeWire, type PublicCoreEvent } from '@graphex/schema';

interface BatchIndex {
  readonly firstEventSeq: number;
  readonly lastEventSeq: number;
  readonly offset: number;
  readonly bytes: number;
}

interface StoredBatch {
  readonly lastSeq: number;
  readonly events: PublicCoreEvent[];
}

/** Batches kept decoded in memory for live consumers. */
const RECENT_BATCHES_MAX = 4_096;
/** Longest time an appended batch waits for its (background) fsync. */
const backgroundSyncMs = 200;

export class EventLog {
  readonly #fd: number;
  readonly #index: BatchIndex[] = [];
  readonly #recent = new Map<number, PublicCoreEvent[]>(); // firstEventSeq → events
  #size: number;
  #lastSeq = 0;
  #lastEventSeq = 0;
  #syncTimer: NodeJS.Timeout | null = null;
  #syncing = false;
  /** Appended since the running background fsync started. */
  #dirty = false;
  #closed = false;

  constructor(dataDir: string) {
    const path = join(dataDir, 'events.log');
    const existed = existsSync(path);
    this.#fd = openSync(path, existed ? 'r+' : 'w+');
    this.#size = fstatSync(this.#fd).size;
    if (existed) this.#load();
  }

  #load(): void {
    const chunk = Buffer.alloc(1 << 20);
    let pending = Buffer.alloc(0);
    let fileOffset = 0;
    let lineStart = 0;
    for (;;) {
      const read = readSync(this.#fd, chunk, 0, chunk.length, fileOffset);
      if (read === 0) break;
      pending = Buffer.concat([pending, chunk.subarray(0, read)]);
      fileOffset += read;
      let newline: number;
      let garbage = false;
      while ((newline = pending.indexOf(10)) >= 0) {
        const line = pending.subarray(0, newline);
        if (!this.#indexLine(line.toString('utf8'), lineStart, newline + 1)) {
          garbage = true;
          break;
        }
        lineStart += newline + 1;
        pending = pending.subarray(newline + 1);
      }
      if (garbage) break;
    }
    if (lineStart < this.#size) {
      // A torn or unreadable tail (a crash mid-write, or blocks a power cut left unwritten): those
      // batches were never durable here; the core's journal still has their commands, and the
      // caller regenerates the missing events by replay.
      ftruncateSync(this.#fd, lineStart);
      fsyncSync(this.#fd);
      this.#size = lineStart;
    }
  }

  /** Indexes one stored line; false when it is not a whole batch (the tail to cut). */
  #indexLine(text: string, offset: number, bytes: number): boolean {
    let batch: StoredBatch;
    try {
      batch = decodeWire<StoredBatch>(text);
    } catch {
      return false;
    }
    if (typeof batch?.lastSeq !== 'number' || !Array.isArray(batch.events)) return false;
    if (batch.events.length > 0) {
      const first = batch.events[0]!.eventSeq;
      const last = batch.events[batch.events.length - 1]!.eventSeq;
      if (first !== this.#lastEventSeq + 1) {
        throw new Error(`event log is not contiguous: batch starts at ${first} after ${this.#lastEventSeq}`);
      }
      this.#index.push({ firstEventSeq: first, lastEventSeq: last, offset, bytes });
      this.#lastEventSeq = last;
    }
    this.#lastSeq = batch.lastSeq;
    return true;
  }

  /** Last command sequence number whose events are in the log. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  get lastEventSeq(): number {
    return this.#lastEventSeq;
  }

  /**
   * Appends the events of commands up to `lastSeq` (already durable in the journal); the file is
   * fsynced in the background within `backgroundSyncMs`.
   */
  append(lastSeq: number, events: PublicCoreEvent[]): void {
    if (lastSeq < this.#lastSeq)
      throw new Error(`event log append out of order: ${lastSeq} < ${this.#lastSeq}`);
    if (events.length > 0 && events[0]!.eventSeq !== this.#lastEventSeq + 1) {
      throw new Error(`event log gap: got eventSeq ${events[0]!.eventSeq} after ${this.#lastEventSeq}`);
    }
    const line = Buffer.from(encodeWire({ lastSeq, events }) + '\n', 'utf8');
    writeSync(this.#fd, line, 0, line.length, this.#size);
    this.#scheduleSync();
    if (events.length > 0) {
      const first = events[0]!.eventSeq;
      this.#index.push({
        firstEventSeq: first,
        lastEventSeq: events[events.length - 1]!.eventSeq,
        offset: this.#size,
        bytes: line.length,
      });
      this.#lastEventSeq = events[events.length - 1]!.eventSeq;
      this.#recent.set(first, events);
      if (this.#recent.size > RECENT_BATCHES_MAX) {
        this.#recent.delete(this.#recent.keys().next().value!);
      }
    }
    this.#size += line.length;
    this.#lastSeq = lastSeq;
  }

  /**
   * Events with `eventSeq > afterEventSeq`, at most about `maxEvents` (whole batches; at least one
   * batch). Empty when the consumer is caught up.
   */
  readAfter(afterEventSeq: number, maxEvents = 10_000): PublicCoreEvent[] {
    if (afterEventSeq >= this.#lastEventSeq) return [];
    // Binary search for the batch holding afterEventSeq + 1.
    let lo = 0;
    let hi = this.#index.length - 1;
    const target = afterEventSeq + 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#index[mid]!.lastEventSeq < target) lo = mid + 1;
      else hi = mid;
    }
    const out: PublicCoreEvent[] = [];
    for (let i = lo; i < this.#index.length && (out.length === 0 || out.length < maxEvents); i += 1) {
      const entry = this.#index[i]!;
      let events = this.#recent.get(entry.firstEventSeq);
      if (events === undefined) {
        const buffer = Buffer.alloc(entry.bytes);
        readSync(this.#fd, buffer, 0, entry.bytes, entry.offset);
        events = decodeWire<StoredBatch>(buffer.toString('utf8')).events;
      }
      for (const event of events) if (event.eventSeq > afterEventSeq) out.push(event);
    }
    return out;
  }

  #scheduleSync(): void {
    if (this.#syncing) this.#dirty = true;
    if (this.#syncTimer !== null || this.#syncing || this.#closed) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = null;
      this.#syncing = true;
      this.#dirty = false;
      // On the thread pool; an error only means a longer replay after a power cut.
      fsync(this.#fd, () => {
        this.#syncing = false;
        if (this.#dirty) this.#scheduleSync();
      });
    }, backgroundSyncMs);
    this.#syncTimer.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#syncTimer !== null) clearTimeout(this.#syncTimer);
    fsyncSync(this.#fd);
    closeSync(this.#fd);
  }
}
