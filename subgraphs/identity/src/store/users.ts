/** SQL access to the `users` table. */
import type { Queryable, Role } from '@graphex/runtime';
import type { KycStatus, UserRecord } from '../domain/user.ts';

interface UserRow {
  id: string;
  email: string;
  role: Role;
  kyc_status: KycStatus;
  two_factor_enabled: boolean;
  created_at: Date | string;
}

const userColumns = 'id, email, role, kyc_status, two_factor_enabled, created_at';

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    kycStatus: row.kyc_status,
    twoFactorEnabled: row.two_factor_enabled,
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
  };
}

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly role: Role;
  readonly createdAt: Date;
}

/** Inserts a user; null when the email is taken (the unique index decides, so races are safe). */
export async function insertUser(db: Queryable, user: NewUser): Promise<UserRecord | null> {
  const result = await db.query<UserRow>(
    `INSERT INTO users (id, email, password_hash, role, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (email) DO NOTHING
     RETURNING ${userColumns}`,
    [user.id, user.email, user.passwordHash, user.role, user.createdAt],
  );
  const row = result.rows[0];
  return row ? toRecord(row) : null;
}

export async function findUserById(db: Queryable, id: string): Promise<UserRecord | null> {
  const result = await db.query<UserRow>(`SELECT ${userColumns} FROM users WHERE id = $1`, [id]);
  const row = result.rows[0];
  return row ? toRecord(row) : null;
}

export async function findUsersByIds(db: Queryable, ids: readonly string[]): Promise<UserRecord[]> {
  if (ids.length === 0) return [];
  const result = await db.query<UserRow>(`SELECT ${userColumns} FROM users WHERE id = ANY($1::uuid[])`, [
    [...ids],
  ]);
  return result.rows.map(toRecord);
}

/** The user and their password hash, for sign-in. */
export async function findCredentialsByEmail(
  db: Queryable,
  email: string,
): Promise<{ user: UserRecord; passwordHash: string } | null> {
  const result = await db.query<UserRow & { password_hash: string }>(
    `SELECT ${userColumns}, password_hash FROM users WHERE email = $1`,
    [email],
  );
  const row = result.rows[0];
  return row ? { user: toRecord(row), passwordHash: row.password_hash } : null;
}

/** Gives the user with this email `role`; true when that changed something. */
export async function setRoleByEmail(db: Queryable, email: string, role: Role): Promise<boolean> {
  const result = await db.query(
    'UPDATE users SET role = $2, updated_at = now() WHERE email = $1 AND role <> $2',
    [email, role],
  );
  return result.rowCount === 1;
}
