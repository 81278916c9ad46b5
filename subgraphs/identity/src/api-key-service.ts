/**
 * API keys for bots: created by the person (a user session, never another key) with a fresh TOTP
 * code — so 2FA must be enabled — shown once, stored as a SHA-256, revocable, with scopes, optional
 * IP allowlist, expiry and persisted-only flag. `verify` serves the gateway's credential check.
 */
import { randomUUID } from 'node:crypto';
import { normaliseIpAllowlist, type ApiKeyGrant, type Database, type Logger } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Actor, Auditor } from './audit.ts';
import {
  apiKeyLimits,
  apiKeyPattern,
  hashApiKeySecret,
  newApiKeySecret,
  normaliseScopes,
} from './domain/api-key.ts';
import { isUuid } from './domain/user.ts';
import {
  countActiveApiKeys,
  findApiKeyBySecretHash,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  touchApiKey,
  type ApiKeyRecord,
} from './store/api-keys.ts';
import type { TwoFactorService } from './two-factor-service.ts';

export interface CreateApiKeyInput {
  readonly name: string;
  readonly scopes: readonly string[];
  readonly ipAllowlist?: readonly string[] | null;
  readonly expiresAt?: Date | string | null;
  readonly persistedOnly?: boolean | null;
  readonly totpCode: string;
}

export interface CreatedApiKeyResult {
  readonly key: ApiKeyRecord;
  readonly secret: string;
}

export interface ApiKeyService {
  create(actor: Actor, input: CreateApiKeyInput): Promise<CreatedApiKeyResult>;
  list(actor: Actor): Promise<ApiKeyRecord[]>;
  revoke(actor: Actor, id: string): Promise<ApiKeyRecord>;
  verify(secret: string): Promise<ApiKeyGrant | null>;
}

function owner(actor: Actor): string {
  const { identity } = actor;
  if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
  if (identity.kind !== 'user') throw apiError('FORBIDDEN', 'API keys cannot manage API keys.');
  return identity.userId;
}

export function createApiKeyService(options: {
  db: Database;
  twoFactor: TwoFactorService;
  audit: Auditor;
  logger: Logger;
  clock: () => Date;
}): ApiKeyService {
  const { db, twoFactor, audit, clock, logger } = options;
  return {
    async create(actor, input) {
      const userId = owner(actor);
      const name = input.name.trim();
      if (name.length === 0 || name.length > apiKeyLimits.maxNameLength)
        throw apiError('BAD_USER_INPUT', `name must be 1..${apiKeyLimits.maxNameLength} characters.`, {
          field: 'name',
        });
      const scopes = normaliseScopes(input.scopes);
      if (typeof scopes === 'string') throw apiError('BAD_USER_INPUT', scopes, { field: 'scopes' });
      const allowlist = normaliseIpAllowlist(input.ipAllowlist ?? []);
      if (typeof allowlist === 'string')
        throw apiError('BAD_USER_INPUT', allowlist, { field: 'ipAllowlist' });
      const now = clock();
      let expiresAt: Date | null = null;
      if (input.expiresAt != null) {
        expiresAt = new Date(input.expiresAt);
        if (
          Number.isNaN(expiresAt.getTime()) ||
          expiresAt.getTime() <= now.getTime() ||
          expiresAt.getTime() - now.getTime() > apiKeyLimits.maxLifetimeMs
        )
          throw apiError('BAD_USER_INPUT', 'expiresAt must be in the future and within a year.', {
            field: 'expiresAt',
          });
      }
      const generated = newApiKeySecret();
      const outcome = await db.transaction(async (tx) => {
        const checked = await twoFactor.verifyCode(tx, userId, input.totpCode);
        if (checked !== 'OK') return { kind: checked, key: null };
        if ((await countActiveApiKeys(tx, userId, now)) >= apiKeyLimits.maxActiveKeysPerUser)
          return { kind: 'limit' as const, key: null };
        const key = await insertApiKey(tx, {
          id: randomUUID(),
          userId,
          name,
          secretHash: generated.secretHash,
          secretPrefix: generated.prefix,
          scopes,
          ipAllowlist: allowlist,
          persistedOnly: input.persistedOnly ?? false,
          expiresAt,
          createdAt: now,
        });
        await audit.append(tx, actor, 'API_KEY_CREATED', userId, {
          apiKeyId: key.id,
          scopes: scopes.join(','),
          persistedOnly: String(key.persistedOnly),
          ipAllowlist: allowlist.join(','),
        });
        return { kind: 'created' as const, key };
      });
      if (outcome.kind === 'NOT_ENABLED')
        throw apiError('TWO_FACTOR_REQUIRED', 'Enable two-factor authentication before creating API keys.');
      if (outcome.kind === 'INVALID')
        throw apiError('TWO_FACTOR_INVALID', 'The code is wrong, expired or already used.');
      if (outcome.kind === 'limit')
        throw apiError(
          'LIMIT_EXCEEDED',
          `At most ${apiKeyLimits.maxActiveKeysPerUser} active API keys per user.`,
        );
      if (!outcome.key) throw new Error('unreachable: created without a key');
      logger.info('api key created', { userId, apiKeyId: outcome.key.id });
      return { key: outcome.key, secret: generated.secret };
    },

    list: (actor) => listApiKeys(db, owner(actor)),

    async revoke(actor, id) {
      const userId = owner(actor);
      if (!isUuid(id)) throw apiError('NOT_FOUND', 'No active API key with this id.');
      const revoked = await db.transaction(async (tx) => {
        const key = await revokeApiKey(tx, userId, id, clock());
        if (key) await audit.append(tx, actor, 'API_KEY_REVOKED', userId, { apiKeyId: id });
        return key;
      });
      if (!revoked) throw apiError('NOT_FOUND', 'No active API key with this id.');
      return revoked;
    },

    async verify(secret) {
      if (!apiKeyPattern.test(secret)) return null;
      const key = await findApiKeyBySecretHash(db, hashApiKeySecret(secret));
      const now = clock();
      if (!key || key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= now.getTime())) return null;
      await touchApiKey(db, key.id, now);
      return {
        apiKeyId: key.id,
        userId: key.userId,
        role: key.role,
        scopes: key.scopes,
        persistedOnly: key.persistedOnly,
        ipAllowlist: key.ipAllowlist,
        expiresAt: key.expiresAt?.toISOString() ?? null,
      };
    },
  };
}
