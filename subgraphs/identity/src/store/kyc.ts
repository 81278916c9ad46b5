/** SQL access to `kyc_cases` and `kyc_webhook_nonces`. */
import type { Queryable } from '@graphex/runtime';
import type { KycSubmission, KycTier } from '../domain/kyc.ts';

export type KycCaseStatus = 'PENDING' | 'APPROVED' | 'REJECTED';

export interface KycCaseRecord {
  readonly id: string;
  readonly userId: string;
  readonly status: KycCaseStatus;
  readonly submission: KycSubmission;
  readonly submittedAt: Date;
  readonly decidedAt: Date | null;
  readonly decidedBy: string | null;
  readonly decisionReason: string | null;
  readonly tier: KycTier | null;
}

interface Row {
  id: string;
  user_id: string;
  status: KycCaseStatus;
  personal_data: Record<string, unknown> | string;
  documents: unknown[] | string;
  submitted_at: Date | string;
  decided_at: Date | string | null;
  decided_by: string | null;
  decision_reason: string | null;
  tier: number | null;
}

const toDate = (v: Date | string) => (v instanceof Date ? v : new Date(v));
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const columns =
  'id, user_id, status, personal_data, documents, submitted_at, decided_at, decided_by, decision_reason, tier';

function toRecord(row: Row): KycCaseRecord {
  const personal = json(row.personal_data) as Omit<KycSubmission, 'documents'>;
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    submission: { ...personal, documents: json(row.documents) as KycSubmission['documents'] },
    submittedAt: toDate(row.submitted_at),
    decidedAt: row.decided_at === null ? null : toDate(row.decided_at),
    decidedBy: row.decided_by,
    decisionReason: row.decision_reason,
    tier: row.tier as KycTier | null,
  };
}

export async function insertKycCase(
  db: Queryable,
  kycCase: { id: string; userId: string; submission: KycSubmission; submittedAt: Date },
): Promise<KycCaseRecord> {
  const { documents, ...personal } = kycCase.submission;
  const result = await db.query<Row>(
    `INSERT INTO kyc_cases (id, user_id, status, personal_data, documents, submitted_at)
     VALUES ($1, $2, 'PENDING', $3, $4, $5) RETURNING ${columns}`,
    [kycCase.id, kycCase.userId, JSON.stringify(personal), JSON.stringify(documents), kycCase.submittedAt],
  );
  return toRecord(result.rows[0]!);
}

export async function lockKycCase(db: Queryable, id: string): Promise<KycCaseRecord | null> {
  const result = await db.query<Row>(`SELECT ${columns} FROM kyc_cases WHERE id = $1 FOR UPDATE`, [id]);
  const row = result.rows[0];
  return row ? toRecord(row) : null;
}

export async function decideKycCase(
  db: Queryable,
  id: string,
  decision: {
    status: 'APPROVED' | 'REJECTED';
    decidedAt: Date;
    decidedBy: string;
    reason: string;
    tier: KycTier | null;
  },
): Promise<KycCaseRecord> {
  const result = await db.query<Row>(
    `UPDATE kyc_cases SET status = $2, decided_at = $3, decided_by = $4, decision_reason = $5, tier = $6
     WHERE id = $1 AND status = 'PENDING' RETURNING ${columns}`,
    [id, decision.status, decision.decidedAt, decision.decidedBy, decision.reason, decision.tier],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`KYC case ${id} was not PENDING under its row lock`);
  return toRecord(row);
}

export async function listKycCases(
  db: Queryable,
  filter: { status: KycCaseStatus | null; userId: string | null; limit: number },
): Promise<KycCaseRecord[]> {
  const result = await db.query<Row>(
    `SELECT ${columns} FROM kyc_cases
     WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR user_id = $2)
     ORDER BY submitted_at, id LIMIT $3`,
    [filter.status, filter.userId, filter.limit],
  );
  return result.rows.map(toRecord);
}

/** Records a webhook nonce; false when it was already used (a replay). */
export async function recordWebhookNonce(db: Queryable, nonce: string, at: Date): Promise<boolean> {
  const result = await db.query(
    'INSERT INTO kyc_webhook_nonces (nonce, received_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING',
    [nonce, at],
  );
  return result.rowCount === 1;
}
