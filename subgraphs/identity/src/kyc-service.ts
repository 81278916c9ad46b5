/**
 * KYC use cases over the state machine in domain/kyc.ts: submit (the user), provider callbacks
 * (signed webhook), compliance review, listing. Every transition runs under row locks on the user
 * and the case and is audited in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Database, Logger, Queryable } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Actor, Auditor } from './audit.ts';
import {
  checkKycSubmission,
  kycLimits,
  kycTransition,
  type KycInputShape,
  type KycTier,
} from './domain/kyc.ts';
import { isUuid, type UserRecord } from './domain/user.ts';
import { checkWebhook, maxWebhookBodyBytes, webhookHeaders } from './domain/webhook-signature.ts';
import type { KycProvider, KycWebhookBody } from './kyc-provider.ts';
import {
  decideKycCase,
  insertKycCase,
  listKycCases,
  lockKycCase,
  recordWebhookNonce,
  type KycCaseRecord,
  type KycCaseStatus,
} from './store/kyc.ts';
import { findUserById, lockKycStatus, setKycState } from './store/users.ts';

export type KycDecision = 'APPROVE' | 'REJECT';

export interface WebhookResult {
  readonly status: number;
  readonly body: { readonly ok: boolean; readonly code?: string; readonly message?: string };
}

export interface KycService {
  submit(actor: Actor, input: KycInputShape): Promise<UserRecord>;
  cases(
    actor: Actor,
    filter: { status: KycCaseStatus | null; userId: string | null; first: number },
  ): Promise<KycCaseRecord[]>;
  review(
    actor: Actor,
    input: { caseId: string; decision: KycDecision; reason: string; tier?: number | null },
  ): Promise<KycCaseRecord>;
  handleWebhook(body: string, headers: Record<string, string | undefined>): Promise<WebhookResult>;
}

const complianceRoles = ['COMPLIANCE', 'ADMIN'] as const;

function requireComplianceOfficer(actor: Actor): { userId: string } {
  const { identity } = actor;
  if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
  if (identity.kind !== 'user')
    throw apiError('FORBIDDEN', 'KYC review needs a signed-in compliance officer, not an API key.');
  if (!(complianceRoles as readonly string[]).includes(identity.role))
    throw apiError('FORBIDDEN', 'Requires role COMPLIANCE or ADMIN.');
  return { userId: identity.userId };
}

export function createKycService(options: {
  db: Database;
  audit: Auditor;
  provider: () => KycProvider;
  webhookSecret: string;
  logger: Logger;
  clock: () => Date;
}): KycService {
  const { db, audit, logger, clock } = options;

  /** PENDING → APPROVED | REJECTED for one case, inside `tx`; INVALID_STATE_TRANSITION otherwise. */
  async function decide(
    tx: Queryable,
    actor: Actor & { name?: string },
    caseId: string,
    decision: KycDecision,
    reason: string,
    tier: KycTier,
    decidedBy: string,
  ): Promise<KycCaseRecord | 'not-found' | 'illegal'> {
    const kycCase = await lockKycCase(tx, caseId);
    if (!kycCase) return 'not-found';
    const userStatus = await lockKycStatus(tx, kycCase.userId);
    const next = userStatus && kycTransition(userStatus, decision);
    if (kycCase.status !== 'PENDING' || !next) return 'illegal';
    const status = next as 'APPROVED' | 'REJECTED';
    const finalTier: KycTier = status === 'APPROVED' ? tier : 0;
    const decided = await decideKycCase(tx, caseId, {
      status,
      decidedAt: clock(),
      decidedBy,
      reason,
      tier: finalTier,
    });
    await setKycState(tx, kycCase.userId, status, finalTier);
    await audit.append(tx, actor, status === 'APPROVED' ? 'KYC_APPROVED' : 'KYC_REJECTED', kycCase.userId, {
      caseId,
      from: userStatus,
      to: status,
      tier: String(finalTier),
      reason,
      decidedBy,
    });
    return decided;
  }

  return {
    async submit(actor, input) {
      const { identity } = actor;
      if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
      if (identity.kind !== 'user') throw apiError('FORBIDDEN', 'Submit KYC signed in, not with an API key.');
      const checked = checkKycSubmission(input, clock());
      if (!checked.ok) throw apiError('BAD_USER_INPUT', checked.reason, { field: checked.field });
      const now = clock();
      const outcome = await db.transaction(async (tx) => {
        const status = await lockKycStatus(tx, identity.userId);
        if (!status) return { kind: 'gone' as const };
        const next = kycTransition(status, 'SUBMIT');
        if (!next) return { kind: 'illegal' as const, status };
        const kycCase = await insertKycCase(tx, {
          id: randomUUID(),
          userId: identity.userId,
          submission: checked.value,
          submittedAt: now,
        });
        await setKycState(tx, identity.userId, next, 0);
        await audit.append(tx, actor, 'KYC_SUBMITTED', identity.userId, {
          caseId: kycCase.id,
          from: status,
          to: next,
          documents: checked.value.documents.map((d) => `${d.kind}:${d.sha256}`).join(','),
        });
        return { kind: 'submitted' as const, kycCase };
      });
      if (outcome.kind === 'gone') throw apiError('UNAUTHENTICATED', 'The account no longer exists.');
      if (outcome.kind === 'illegal')
        throw apiError('INVALID_STATE_TRANSITION', `KYC cannot be submitted while it is ${outcome.status}.`, {
          kycStatus: outcome.status,
        });
      const provider = options.provider();
      await provider
        .submit({ id: outcome.kycCase.id, userId: identity.userId, submission: outcome.kycCase.submission })
        .catch((error: unknown) =>
          logger.error('kyc provider refused a case', { caseId: outcome.kycCase.id, error }),
        );
      const user = await findUserById(db, identity.userId);
      if (!user) throw apiError('UNAUTHENTICATED', 'The account no longer exists.');
      return user;
    },

    async cases(actor, filter) {
      requireComplianceOfficer(actor);
      if (filter.userId !== null && !isUuid(filter.userId)) return [];
      const limit = Math.min(Math.max(filter.first, 1), 200);
      return listKycCases(db, { status: filter.status, userId: filter.userId, limit });
    },

    async review(actor, input) {
      const officer = requireComplianceOfficer(actor);
      const reason = input.reason.trim();
      if (reason.length === 0 || reason.length > kycLimits.maxReasonLength)
        throw apiError('BAD_USER_INPUT', `reason must be 1..${kycLimits.maxReasonLength} characters.`, {
          field: 'reason',
        });
      const tier = input.tier ?? 1;
      if (input.decision === 'APPROVE' && tier !== 1 && tier !== 2)
        throw apiError('BAD_USER_INPUT', 'An approval grants tier 1 or 2.', { field: 'tier' });
      if (!isUuid(input.caseId)) throw apiError('NOT_FOUND', 'No KYC case with this id.');
      const result = await db.transaction(async (tx) => {
        const kycCase = await lockKycCase(tx, input.caseId);
        // Officers do not decide their own case.
        if (kycCase && kycCase.userId === officer.userId) return 'own' as const;
        return decide(tx, actor, input.caseId, input.decision, reason, tier as KycTier, officer.userId);
      });
      if (result === 'own')
        throw apiError('FORBIDDEN', 'Compliance officers cannot review their own KYC case.');
      if (result === 'not-found') throw apiError('NOT_FOUND', 'No KYC case with this id.');
      if (result === 'illegal')
        throw apiError('INVALID_STATE_TRANSITION', 'This KYC case is already decided.');
      return result;
    },

    async handleWebhook(body, headers) {
      const refuse = (status: number, code: string, message: string): WebhookResult => {
        logger.warn('kyc webhook refused', { code, message });
        return { status, body: { ok: false, code, message } };
      };
      if (Buffer.byteLength(body, 'utf8') > maxWebhookBodyBytes)
        return refuse(413, 'BAD_REQUEST', 'Body too large.');
      const now = clock();
      const check = checkWebhook(
        options.webhookSecret,
        {
          timestamp: headers[webhookHeaders.timestamp],
          nonce: headers[webhookHeaders.nonce],
          signature: headers[webhookHeaders.signature],
        },
        body,
        now.getTime(),
      );
      if (!check.ok)
        return check.reason === 'STALE_TIMESTAMP'
          ? refuse(401, 'KYC_WEBHOOK_REPLAYED', 'The callback timestamp is outside the accepted window.')
          : refuse(401, 'KYC_WEBHOOK_SIGNATURE_INVALID', 'The callback is not signed by the provider.');
      let parsed: KycWebhookBody;
      try {
        parsed = JSON.parse(body) as KycWebhookBody;
      } catch {
        return refuse(400, 'BAD_REQUEST', 'Body is not JSON.');
      }
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        typeof parsed.caseId !== 'string' ||
        !isUuid(parsed.caseId) ||
        !['APPROVE', 'REJECT', 'REVIEW'].includes(parsed.decision) ||
        typeof parsed.reason !== 'string' ||
        parsed.reason.length > kycLimits.maxReasonLength
      )
        return refuse(400, 'BAD_REQUEST', 'Body is not a KYC decision.');
      const provider = options.provider().name;
      const actor = {
        identity: { kind: 'anonymous' as const },
        requestId: `kyc-webhook:${check.nonce}`,
        name: `provider:${provider}`,
      };
      const outcome = await db.transaction(async (tx) => {
        // The nonce is recorded in the same transaction as the decision: a replay finds it.
        if (!(await recordWebhookNonce(tx, check.nonce, now))) return 'replayed' as const;
        if (parsed.decision === 'REVIEW') return 'review' as const;
        const tier = parsed.decision === 'APPROVE' ? 1 : 0;
        return decide(tx, actor, parsed.caseId, parsed.decision, parsed.reason, tier, `provider:${provider}`);
      });
      if (outcome === 'replayed')
        return refuse(409, 'KYC_WEBHOOK_REPLAYED', 'This callback was already received.');
      if (outcome === 'not-found') return refuse(404, 'NOT_FOUND', 'No KYC case with this id.');
      if (outcome === 'illegal')
        return refuse(409, 'INVALID_STATE_TRANSITION', 'The case is already decided.');
      logger.info('kyc callback applied', { caseId: parsed.caseId, decision: parsed.decision });
      return { status: 200, body: { ok: true } };
    },
  };
}
