/** SQL access to `sessions` and `refresh_tokens`. */
import type { Queryable, Role } from '@graphex/runtime';

export type SessionRevokeReason = 'LOGOUT' | 'REFRESH_TOKEN_REUSE' | 'LOGOUT_ALL' | 'TWO_FACTOR_DISABLED';

export async function insertSession(
  db: Queryable,
  session: { id: string; userId: string; createdAt: Date },
): Promise<void> {
  await db.query('INSERT INTO sessions (id, user_id, created_at) VALUES ($1, $2, $3)', [
    session.id,
    session.userId,
    session.createdAt,
  ]);
}

export async function insertRefreshToken(
  db: Queryable,
  token: { tokenHash: string; sessionId: string; issuedAt: Date; expiresAt: Date },
): Promise<void> {
  await db.query(
    'INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)',
    [token.tokenHash, token.sessionId, token.issuedAt, token.expiresAt],
  );
}

export interface RefreshTokenState {
  readonly sessionId: string;
  readonly userId: string;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly sessionRevokedAt: Date | null;
}

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

/** Looks a refresh token up by hash and locks it (and its session) for the exchange. */
export async function lockRefreshToken(db: Queryable, tokenHash: string): Promise<RefreshTokenState | null> {
  const result = await db.query<{
    session_id: string;
    user_id: string;
    expires_at: Date | string;
    used_at: Date | string | null;
    revoked_at: Date | string | null;
  }>(
    `SELECT t.session_id, s.user_id, t.expires_at, t.used_at, s.revoked_at
     FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
     WHERE t.token_hash = $1
     FOR UPDATE`,
    [tokenHash],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    expiresAt: toDate(row.expires_at),
    usedAt: row.used_at === null ? null : toDate(row.used_at),
    sessionRevokedAt: row.revoked_at === null ? null : toDate(row.revoked_at),
  };
}

/** Marks a token spent; false when it was already spent (a concurrent exchange won). */
export async function markRefreshTokenUsed(db: Queryable, tokenHash: string, usedAt: Date): Promise<boolean> {
  const result = await db.query(
    'UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL',
    [tokenHash, usedAt],
  );
  return result.rowCount === 1;
}

export async function touchSession(db: Queryable, sessionId: string, at: Date): Promise<void> {
  await db.query('UPDATE sessions SET last_refreshed_at = $2 WHERE id = $1', [sessionId, at]);
}

/**
 * Revokes a session (and so every refresh token of its family). Only the owner's session is
 * touched; returns false when it was not active.
 */
export async function revokeSession(
  db: Queryable,
  session: { id: string; userId: string },
  reason: SessionRevokeReason,
  at: Date,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE sessions SET revoked_at = $3, revoked_reason = $4
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`,
    [session.id, session.userId, at, reason],
  );
  return result.rowCount === 1;
}

export async function isSessionActive(db: Queryable, sessionId: string): Promise<boolean> {
  const result = await db.query('SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL', [sessionId]);
  return result.rows.length === 1;
}

/** Revokes every active session of a user; how many were active. */
export async function revokeAllSessions(
  db: Queryable,
  userId: string,
  reason: SessionRevokeReason,
  at: Date,
): Promise<number> {
  const result = await db.query(
    'UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL',
    [userId, at, reason],
  );
  return result.rowCount ?? 0;
}

/** Whether the user's session is active, and the user's current role (for the gateway). */
export async function sessionStatus(
  db: Queryable,
  userId: string,
  sessionId: string,
): Promise<{ active: boolean; role: Role | null }> {
  const result = await db.query<{ revoked_at: Date | string | null; role: Role }>(
    'SELECT s.revoked_at, u.role FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.user_id = $2',
    [sessionId, userId],
  );
  const row = result.rows[0];
  if (!row) return { active: false, role: null };
  return { active: row.revoked_at === null, role: row.role };
}
