/** SQL access to `api_keys`. */
import type { ApiKeyScope, Queryable, Role } from '@graphex/runtime';

export interface ApiKeyRecord {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly secretPrefix: string;
  readonly scopes: readonly ApiKeyScope[];
  readonly ipAllowlist: readonly string[];
  readonly persistedOnly: boolean;
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

interface Row {
  id: string;
  user_id: string;
  name: string;
  secret_prefix: string;
  scopes: string[];
  ip_allowlist: string[];
  persisted_only: boolean;
  expires_at: Date | string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const toDate = (v: Date | string) => (v instanceof Date ? v : new Date(v));
const toNullableDate = (v: Date | string | null) => (v === null ? null : toDate(v));
const columns =
  'id, user_id, name, secret_prefix, scopes, ip_allowlist, persisted_only, expires_at, created_at, last_used_at, revoked_at';

function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    secretPrefix: row.secret_prefix,
    scopes: row.scopes as ApiKeyScope[],
    ipAllowlist: row.ip_allowlist,
    persistedOnly: row.persisted_only,
    expiresAt: toNullableDate(row.expires_at),
    createdAt: toDate(row.created_at),
    lastUsedAt: toNullableDate(row.last_used_at),
    revokedAt: toNullableDate(row.revoked_at),
  };
}

export async function insertApiKey(
  db: Queryable,
  key: Omit<ApiKeyRecord, 'lastUsedAt' | 'revokedAt'> & { secretHash: string },
): Promise<ApiKeyRecord> {
  const result = await db.query<Row>(
    `INSERT INTO api_keys (id, user_id, name, secret_hash, secret_prefix, scopes, ip_allowlist, persisted_only, expires_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${columns}`,
    [
      key.id,
      key.userId,
      key.name,
      key.secretHash,
      key.secretPrefix,
      [...key.scopes],
      [...key.ipAllowlist],
      key.persistedOnly,
      key.expiresAt,
      key.createdAt,
    ],
  );
  return toRecord(result.rows[0]!);
}

export async function countActiveApiKeys(db: Queryable, userId: string, now: Date): Promise<number> {
  const result = await db.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
    [userId, now],
  );
  return Number(result.rows[0]?.n ?? 0);
}

export async function listApiKeys(db: Queryable, userId: string): Promise<ApiKeyRecord[]> {
  const result = await db.query<Row>(
    `SELECT ${columns} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id`,
    [userId],
  );
  return result.rows.map(toRecord);
}

/** Revokes the owner's key; null when no such active key of this user exists. */
export async function revokeApiKey(
  db: Queryable,
  userId: string,
  id: string,
  at: Date,
): Promise<ApiKeyRecord | null> {
  const result = await db.query<Row>(
    `UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING ${columns}`,
    [id, userId, at],
  );
  const row = result.rows[0];
  return row ? toRecord(row) : null;
}

/** The key with this secret hash and its owner's current role (revoked and expired keys included). */
export async function findApiKeyBySecretHash(
  db: Queryable,
  secretHash: string,
): Promise<(ApiKeyRecord & { role: Role }) | null> {
  const result = await db.query<Row & { role: Role }>(
    `SELECT ${columns
      .split(', ')
      .map((c) => `k.${c}`)
      .join(', ')}, u.role FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.secret_hash = $1`,
    [secretHash],
  );
  const row = result.rows[0];
  return row ? { ...toRecord(row), role: row.role } : null;
}

/** Records use, at most once a minute per key (no write per request). */
export async function touchApiKey(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query(
    `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '60 seconds')`,
    [id, at],
  );
}
