/**
 * Opaque pagination cursors for "newest first" lists ordered by (created_at DESC, id DESC).
 * A cursor carries the exact position of the last row seen: PostgreSQL's text form of the
 * timestamptz (microseconds and offset, so it casts back exactly) and the id. Clients must not
 * build or parse cursors; a cursor that does not decode is BAD_USER_INPUT.
 */
import { apiError } from '@graphex/schema';

export interface CursorPosition {
  /** `created_at::text`, e.g. "2026-11-22 01:48:18.123456+00". */
  readonly createdAt: string;
  readonly id: string;
}

const version = 1;
const maxCursorLength = 256;
const timestampPattern = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::?\d{2})?)$/;

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([version, position.createdAt, position.id]), 'utf8').toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string): CursorPosition {
  const invalid = () =>
    apiError('BAD_USER_INPUT', '`after` is not a cursor from this list; pass a pageInfo.endCursor.', {
      argument: 'after',
    });
  if (cursor.length === 0 || cursor.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw invalid();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== version) throw invalid();
  const [, createdAt, id] = decoded as [unknown, unknown, unknown];
  if (typeof createdAt !== 'string' || !timestampPattern.test(createdAt)) throw invalid();
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw invalid();
  return { createdAt, id };
}

export interface PageRequest {
  readonly limit: number;
  readonly after: CursorPosition | null;
}

export const defaultPageSize = 50;
export const maxPageSize = 200;

/** Validates `first`/`after` (first in 1..200, default 50). */
export function pageRequest(first: number | null | undefined, after: string | null | undefined): PageRequest {
  const limit = first ?? defaultPageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw apiError('BAD_USER_INPUT', `\`first\` must be between 1 and ${maxPageSize}.`, {
      argument: 'first',
    });
  }
  return { limit, after: after === null || after === undefined ? null : decodeCursor(after) };
}
