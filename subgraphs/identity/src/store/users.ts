/** SQL access to the `users` table. */
import type { Queryable, Role } from '@graphex/runtime';
import type { KycStatus, UserRecord } from '../domain/user.ts';

interface UserRow {
  id: string;
  email: string;
  role: Role;
  kyc_status: KycStatus;
  two_factor_enabled: boolean;
  kyc_tier: number;
  created_at: Date | string;
}

const userColumns = 'id, email, role, kyc_status, kyc_tier, two_factor_enabled, created_at';

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    kycStatus: row.kyc_status,
    twoFactorEnabled: row.two_factor_enabled,
    kycTier: row.kyc_tier as UserRecord['kycTier'],
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

/** Sets a user's role; the previous role, or null when the user does not exist. */
export async function setRoleById(db: Queryable, id: string, role: Role): Promise<Role | null> {
  const result = await db.query<{ previous: Role }>(
    `UPDATE users u SET role = $2, updated_at = now() FROM (SELECT id, role AS previous FROM users WHERE id = $1 FOR UPDATE) p
     WHERE u.id = p.id RETURNING p.previous`,
    [id, role],
  );
  return result.rows[0]?.previous ?? null;
}

export interface TwoFactorState {
  readonly enabled: boolean;
  readonly secretSealed: string | null;
  readonly pendingSealed: string | null;
  readonly lastStep: number | null;
}

/** The user's TOTP state, row-locked when `lock` (every code check is serialised per user). */
export async function readTwoFactor(
  db: Queryable,
  userId: string,
  lock: boolean,
): Promise<TwoFactorState | null> {
  const result = await db.query<{
    two_factor_enabled: boolean;
    totp_secret_enc: string | null;
    totp_pending_secret_enc: string | null;
    totp_last_step: string | number | null;
  }>(
    `SELECT two_factor_enabled, totp_secret_enc, totp_pending_secret_enc, totp_last_step FROM users WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [userId],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    enabled: row.two_factor_enabled,
    secretSealed: row.totp_secret_enc,
    pendingSealed: row.totp_pending_secret_enc,
    lastStep: row.totp_last_step === null ? null : Number(row.totp_last_step),
  };
}

export async function setPendingTotp(db: Queryable, userId: string, sealed: string): Promise<void> {
  await db.query('UPDATE users SET totp_pending_secret_enc = $2, updated_at = now() WHERE id = $1', [
    userId,
    sealed,
  ]);
}

export async function enableTotp(db: Queryable, userId: string, sealed: string, step: number): Promise<void> {
  await db.query(
    `UPDATE users SET two_factor_enabled = true, totp_secret_enc = $2, totp_pending_secret_enc = NULL,
       totp_last_step = $3, updated_at = now() WHERE id = $1`,
    [userId, sealed, step],
  );
}

export async function disableTotp(db: Queryable, userId: string): Promise<void> {
  await db.query(
    `UPDATE users SET two_factor_enabled = false, totp_secret_enc = NULL, totp_pending_secret_enc = NULL,
       updated_at = now() WHERE id = $1`,
    [userId],
  );
}

export async function setTotpLastStep(db: Queryable, userId: string, step: number): Promise<void> {
  await db.query('UPDATE users SET totp_last_step = $2 WHERE id = $1', [userId, step]);
}

export async function setKycState(
  db: Queryable,
  userId: string,
  status: KycStatus,
  tier: number,
): Promise<void> {
  await db.query('UPDATE users SET kyc_status = $2, kyc_tier = $3, updated_at = now() WHERE id = $1', [
    userId,
    status,
    tier,
  ]);
}

/** Current KYC status, row-locked (transitions of one user are serialised). */
export async function lockKycStatus(db: Queryable, userId: string): Promise<KycStatus | null> {
  const result = await db.query<{ kyc_status: KycStatus }>(
    'SELECT kyc_status FROM users WHERE id = $1 FOR UPDATE',
    [userId],
  );
  return result.rows[0]?.kyc_status ?? null;
}
