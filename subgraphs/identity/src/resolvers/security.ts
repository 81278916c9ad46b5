/** Sessions everywhere, two-factor, API keys, KYC, roles and the audit log. */
import { apiError } from '@graphex/schema';
import type {
  ApiKeyResolvers,
  AuditRecordResolvers,
  CreatedApiKeyResolvers,
  KycCaseResolvers,
  MutationResolvers,
  QueryResolvers,
} from '../__generated__/resolvers-types.ts';
import type { SubgraphContext } from '../context.ts';
import type { UserRecord } from '../domain/user.ts';

const actorOf = (context: SubgraphContext) => ({ identity: context.identity, requestId: context.requestId });

/** The caller's own user, readable in full (they just acted on it). */
const own = (user: UserRecord) => ({ user, access: 'private' as const });

async function reloadSelf(context: SubgraphContext) {
  if (context.identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
  const user = await context.loadUser(context.identity.userId);
  if (!user) throw apiError('UNAUTHENTICATED', 'The account no longer exists.');
  return own(user);
}

export const securityQueryResolvers: QueryResolvers = {
  apiKeys: (_p, _a, context) => context.apiKeys.list(actorOf(context)),
  kycCases: (_p, { status, userId, first }, context) =>
    context.kyc.cases(actorOf(context), {
      status: status === 'NONE' ? null : (status ?? null),
      userId: userId ?? null,
      first: first ?? 50,
    }),
  auditLog: (_p, { userId, after, first, source, action }, context) =>
    context.admin.auditLog(actorOf(context), {
      userId: userId ?? null,
      after: after ?? null,
      first: first ?? 50,
      source: source ?? null,
      action: action ?? null,
    }),
};

export const securityMutationResolvers: MutationResolvers = {
  logoutAll: (_p, _a, context) => context.auth.logoutAll(actorOf(context)),
  enrollTwoFactor: (_p, _a, context) => context.twoFactor.enroll(actorOf(context)),
  confirmTwoFactor: async (_p, { code }, context) => {
    await context.twoFactor.confirm(actorOf(context), code);
    return reloadSelf(context);
  },
  disableTwoFactor: async (_p, { code }, context) => {
    await context.twoFactor.disable(actorOf(context), code);
    return reloadSelf(context);
  },
  createApiKey: (_p, { input }, context) =>
    context.apiKeys.create(actorOf(context), {
      name: input.name,
      scopes: input.scopes,
      ipAllowlist: input.ipAllowlist ?? null,
      expiresAt: input.expiresAt ?? null,
      persistedOnly: input.persistedOnly ?? false,
      totpCode: input.totpCode,
    }),
  revokeApiKey: (_p, { id }, context) => context.apiKeys.revoke(actorOf(context), id),
  setUserRole: async (_p, { userId, role }, context) =>
    own(await context.admin.setUserRole(actorOf(context), userId, role)),
  submitKyc: async (_p, { input }, context) =>
    own(
      await context.kyc.submit(actorOf(context), {
        ...input,
        addressLine: input.addressLine ?? null,
      }),
    ),
  reviewKyc: (_p, { caseId, decision, reason, tier }, context) =>
    context.kyc.review(actorOf(context), { caseId, decision, reason, tier: tier ?? null }),
};

export const apiKeyResolvers: ApiKeyResolvers = {
  id: (key) => key.id,
  name: (key) => key.name,
  prefix: (key) => key.secretPrefix,
  scopes: (key) => [...key.scopes],
  ipAllowlist: (key) => [...key.ipAllowlist],
  persistedOnly: (key) => key.persistedOnly,
  expiresAt: (key) => key.expiresAt,
  createdAt: (key) => key.createdAt,
  lastUsedAt: (key) => key.lastUsedAt,
  revokedAt: (key) => key.revokedAt,
};

export const createdApiKeyResolvers: CreatedApiKeyResolvers = {
  apiKey: (created) => created.key,
  secret: (created) => created.secret,
};

export const kycCaseResolvers: KycCaseResolvers = {
  id: (c) => c.id,
  // Only compliance officers list cases, and they may read the user's private fields.
  user: async (c, _a, context) => {
    const user = await context.loadUser(c.userId);
    if (!user) throw new Error(`KYC case ${c.id} names missing user ${c.userId}`);
    return { user, access: 'private' };
  },
  status: (c) => c.status,
  firstName: (c) => c.submission.firstName,
  lastName: (c) => c.submission.lastName,
  dateOfBirth: (c) => c.submission.dateOfBirth,
  country: (c) => c.submission.country,
  addressLine: (c) => c.submission.addressLine,
  documents: (c) => [...c.submission.documents],
  submittedAt: (c) => c.submittedAt,
  decidedAt: (c) => c.decidedAt,
  decidedBy: (c) => c.decidedBy,
  decisionReason: (c) => c.decisionReason,
  tier: (c) => c.tier,
};

export const auditRecordResolvers: AuditRecordResolvers = {
  id: (r) => r.id,
  occurredAt: (r) => r.occurredAt,
  actor: (r) => r.actor,
  actorRole: (r) => r.actorRole,
  action: (r) => r.action,
  requestId: (r) => r.requestId,
  targetUserId: (r) => r.targetUserId,
  details: (r) =>
    Object.keys(r.details)
      .sort()
      .map((key) => ({ key, value: r.details[key]! })),
  source: (r) => r.source,
  sourceKey: (r) => r.sourceKey,
  previousHash: (r) => r.previousHash,
  hash: (r) => r.hash,
};
