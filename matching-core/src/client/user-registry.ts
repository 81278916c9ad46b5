/**
 * Maps the identity subgraph's user ids (UUID strings) to the core's dense integer user ids.
 * Append-only file, one id per line; line N (1-based) is core user N. A new mapping is fsynced
 * before any command that uses it reaches the journal, so replay always finds it.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const userRefPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Limit on distinct users (the core's per-user arrays are sized from this). */
export const MAX_USERS = 10_000_000;

export class UserRegistry {
  readonly #idOf = new Map<string, number>();
  readonly #refOf: string[] = [''];
  readonly #fd: number;

  constructor(dataDir: string) {
    const path = join(dataDir, 'users.log');
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n');
      // A torn last line (crash mid-append) has no newline: it was never fsynced, so never used.
      if (!text.endsWith('\n')) lines.pop();
      for (const line of lines) {
        if (line === '') continue;
        this.#idOf.set(line, this.#refOf.length);
        this.#refOf.push(line);
      }
    }
    this.#fd = openSync(path, 'a');
  }

  get size(): number {
    return this.#refOf.length - 1;
  }

  /** Core id of `userRef`, registering (durably) on first use. */
  idFor(userRef: string): number {
    const known = this.#idOf.get(userRef);
    if (known !== undefined) return known;
    if (!userRefPattern.test(userRef)) throw new RangeError(`Invalid user id "${userRef.slice(0, 80)}".`);
    if (this.#refOf.length > MAX_USERS) throw new RangeError(`More than ${MAX_USERS} users.`);
    writeSync(this.#fd, userRef + '\n');
    fsyncSync(this.#fd);
    const id = this.#refOf.length;
    this.#idOf.set(userRef, id);
    this.#refOf.push(userRef);
    return id;
  }

  /** User id (UUID) of a core user id; throws for ids never issued (a programming error). */
  refOf(id: number): string {
    const ref = this.#refOf[id];
    if (ref === undefined || id === 0) throw new RangeError(`Unknown core user id ${id}.`);
    return ref;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
