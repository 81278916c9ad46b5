/**
 * Snapshot files `snapshot-<lastSeq>.snap`: [u32 length][u32 crc32][JSON of EngineSnapshot].
 * Written to a temporary name, fsynced, renamed, and the directory fsynced, so a crash leaves
 * either the old set of snapshots or the new one; a damaged file fails its checksum and the next
 * older snapshot is used instead.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { EngineSnapshot } from '../state.ts';
import { crc32 } from './codec.ts';
import { fsyncDir } from './journal.ts';

const SNAPSHOT_PATTERN = /^snapshot-(\d{20})\.snap$/;

export function listSnapshots(dir: string): { readonly lastSeq: number; readonly path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, match: SNAPSHOT_PATTERN.exec(name) }))
    .filter((x) => x.match !== null)
    .map((x) => ({ lastSeq: Number(x.match![1]), path: join(dir, x.name) }))
    .sort((a, b) => b.lastSeq - a.lastSeq);
}

export function writeSnapshot(dir: string, snapshot: EngineSnapshot): string {
  mkdirSync(dir, { recursive: true });
  const json = Buffer.from(JSON.stringify(snapshot), 'utf8');
  const header = Buffer.alloc(8);
  header.writeUInt32LE(json.length, 0);
  header.writeUInt32LE(crc32(json), 4);
  const name = `snapshot-${String(snapshot.lastSeq).padStart(20, '0')}.snap`;
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, header);
    let written = 0;
    while (written < json.length) written += writeSync(fd, json, written, json.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const path = join(dir, name);
  renameSync(tmp, path);
  fsyncDir(dir);
  return path;
}

/** Reads and verifies one snapshot file; null when damaged. */
export function readSnapshot(path: string): EngineSnapshot | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  if (bytes.length < 8) return null;
  const length = bytes.readUInt32LE(0);
  if (8 + length !== bytes.length) return null;
  if (crc32(bytes, 8, 8 + length) !== bytes.readUInt32LE(4)) return null;
  try {
    return JSON.parse(bytes.subarray(8).toString('utf8')) as EngineSnapshot;
  } catch {
    return null;
  }
}

/** Deletes all but the `keep` newest snapshots; returns the oldest kept seq (0 if none). */
export function pruneSnapshots(dir: string, keep: number): number {
  const all = listSnapshots(dir);
  for (const old of all.slice(keep)) rmSync(old.path, { force: true });
  const kept = all.slice(0, keep);
  return kept.length === 0 ? 0 : kept[kept.length - 1]!.lastSeq;
}
