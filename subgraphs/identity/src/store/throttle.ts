/** SQL access to `login_throttle`. */
import type { Queryable } from '@graphex/runtime';
import type { ThrottleState } from '../domain/login-throttle.ts';

const toDate = (v: Date | string) => (v instanceof Date ? v : new Date(v));

export async function readThrottle(
  db: Queryable,
  subjectHash: string,
  lock = false,
): Promise<ThrottleState | null> {
  const result = await db.query<{
    failures: number;
    window_started_at: Date | string;
    locked_until: Date | string | null;
  }>(
    `SELECT failures, window_started_at, locked_until FROM login_throttle WHERE subject_hash = $1${lock ? ' FOR UPDATE' : ''}`,
    [subjectHash],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    failures: row.failures,
    windowStartedAt: toDate(row.window_started_at),
    lockedUntil: row.locked_until === null ? null : toDate(row.locked_until),
  };
}

export async function writeThrottle(db: Queryable, subjectHash: string, state: ThrottleState): Promise<void> {
  await db.query(
    `INSERT INTO login_throttle (subject_hash, failures, window_started_at, locked_until) VALUES ($1, $2, $3, $4)
     ON CONFLICT (subject_hash) DO UPDATE SET failures = $2, window_started_at = $3, locked_until = $4`,
    [subjectHash, state.failures, state.windowStartedAt, state.lockedUntil],
  );
}

export async function clearThrottle(db: Queryable, subjectHash: string): Promise<void> {
  await db.query('DELETE FROM login_throttle WHERE subject_hash = $1', [subjectHash]);
}

/**
 * Row-locks the subject's throttle row, creating an empty one first, so concurrent failures of one
 * email serialise instead of both starting from "no row" and under-counting.
 */
export async function lockThrottle(
  db: Queryable,
  subjectHash: string,
  now: Date,
): Promise<ThrottleState | null> {
  await db.query(
    `INSERT INTO login_throttle (subject_hash, failures, window_started_at, locked_until) VALUES ($1, 0, $2, NULL)
     ON CONFLICT (subject_hash) DO NOTHING`,
    [subjectHash, now],
  );
  const state = await readThrottle(db, subjectHash, true);
  return state && state.failures === 0 && state.lockedUntil === null ? null : state;
}
