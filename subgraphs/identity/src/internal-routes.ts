/**
 * Identity's plain HTTP routes beside /graphql (runtime `identity-internal.ts` documents them):
 * internal endpoints for platform services (service token required) and the KYC provider webhook
 * (HMAC-signed, timestamp + nonce). Neither is reachable through the gateway.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  auditInternalPaths,
  BodyTooLargeError,
  chainedAuditEntryToJson,
  maxAuditExportPage,
  headerValue,
  identityInternalPaths,
  readBody,
  sendJson,
  serviceTokenHeader,
  verifyServiceToken,
  type Logger,
  type WithdrawalPolicy,
} from '@graphex/runtime';
import type { ApiKeyService } from './api-key-service.ts';
import { appendShippedAudit } from './audit.ts';
import { exportAudit } from './store/audit.ts';
import type { AuthService } from './auth-service.ts';
import { withdrawalLimitsByTier } from './domain/kyc.ts';
import { isUuid } from './domain/user.ts';
import { webhookHeaders } from './domain/webhook-signature.ts';
import type { KycService } from './kyc-service.ts';
import { findUserById } from './store/users.ts';
import type { TwoFactorService } from './two-factor-service.ts';
import type { Database } from '@graphex/runtime';

export const kycWebhookPath = '/webhooks/kyc';
const maxInternalBodyBytes = 8 * 1024;

type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** An append batch: up to `maxAuditAppendBatch` records of at most ~40 KiB each (`auditLimits`). */
const maxAuditAppendBodyBytes = 8 * 1024 * 1024;

async function jsonBody(
  request: IncomingMessage,
  maxBytes = maxInternalBodyBytes,
): Promise<Record<string, unknown> | null> {
  const text = await readBody(request, maxBytes);
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length <= 256 ? v : null);

export function identityRoutes(services: {
  db: Database;
  auth: AuthService;
  apiKeys: ApiKeyService;
  twoFactor: TwoFactorService;
  kyc: KycService;
  internalTokenSecret: string;
  logger: Logger;
}): Record<string, Route> {
  const { logger } = services;

  /** Wraps an internal endpoint: POST only, service token required, bounded JSON body. */
  const internal =
    (
      handler: (body: Record<string, unknown>, service: string) => Promise<unknown>,
      maxBodyBytes = maxInternalBodyBytes,
    ): Route =>
    async (request, response) => {
      if (request.method !== 'POST') return sendJson(response, 405, { error: 'POST only.' });
      const service = await verifyServiceToken(
        headerValue(request, serviceTokenHeader),
        services.internalTokenSecret,
      );
      if (!service) return sendJson(response, 401, { error: 'A platform service token is required.' });
      let body: Record<string, unknown> | null;
      try {
        body = await jsonBody(request, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendJson(response, 413, { error: error.message });
        throw error;
      }
      if (!body) return sendJson(response, 400, { error: 'Body must be a JSON object.' });
      const result = await handler(body, service);
      if (result === undefined) return sendJson(response, 400, { error: 'Missing or malformed fields.' });
      sendJson(response, 200, result);
    };

  return {
    [identityInternalPaths.sessionStatus]: internal(async (body) => {
      const userId = str(body['userId']);
      const sessionId = str(body['sessionId']);
      if (!userId || !sessionId) return undefined;
      return services.auth.sessionStatus(userId, sessionId);
    }),
    [identityInternalPaths.verifyApiKey]: internal(async (body) => {
      const secret = str(body['secret']);
      if (!secret) return undefined;
      return { key: await services.apiKeys.verify(secret) };
    }),
    [identityInternalPaths.verifyTwoFactor]: internal(async (body) => {
      const userId = str(body['userId']);
      const code = str(body['code']);
      const purpose = str(body['purpose']);
      if (!userId || !code || !purpose || !['WITHDRAWAL', 'API_KEY', 'LOGIN'].includes(purpose))
        return undefined;
      if (!isUuid(userId)) return { outcome: 'NOT_ENABLED' };
      const outcome = await services.twoFactor.verify(userId, code);
      logger.info('two-factor verified for a service', { userId, purpose, outcome });
      return { outcome };
    }),
    [identityInternalPaths.withdrawalPolicy]: internal(async (body) => {
      const userId = str(body['userId']);
      if (!userId) return undefined;
      const user = isUuid(userId) ? await findUserById(services.db, userId) : null;
      if (!user) return { policy: null };
      const policy: WithdrawalPolicy = {
        kycStatus: user.kycStatus,
        kycTier: user.kycTier,
        twoFactorEnabled: user.twoFactorEnabled,
        limits: Object.entries(withdrawalLimitsByTier[user.kycTier]).map(([currency, limit24h]) => ({
          currency,
          limit24h,
        })),
      };
      return { policy };
    }),
    [auditInternalPaths.append]: internal(async (body, service) => {
      const result = await appendShippedAudit(services.db, logger, service, body);
      if (!result.ok) {
        logger.warn('audit append refused', { service, error: result.error });
        return undefined;
      }
      return { appended: result.appended, duplicates: result.duplicates };
    }, maxAuditAppendBodyBytes),
    [auditInternalPaths.export]: async (request, response) => {
      if (request.method !== 'GET') return sendJson(response, 405, { error: 'GET only.' });
      const service = await verifyServiceToken(
        headerValue(request, serviceTokenHeader),
        services.internalTokenSecret,
      );
      if (!service) return sendJson(response, 401, { error: 'A platform service token is required.' });
      const query = new URL(request.url ?? '/', 'http://identity').searchParams;
      const after = query.get('after') ?? '0';
      const limit = Number(query.get('limit') ?? String(maxAuditExportPage));
      if (!/^[0-9]{1,18}$/.test(after) || !Number.isInteger(limit) || limit < 1 || limit > maxAuditExportPage)
        return sendJson(response, 400, {
          error: `after must be an entry id and limit an integer in 1..${maxAuditExportPage}.`,
        });
      const page = await exportAudit(services.db, after, limit);
      sendJson(response, 200, {
        entries: page.entries.map(chainedAuditEntryToJson),
        headHash: page.headHash,
      });
    },
    [kycWebhookPath]: async (request, response) => {
      if (request.method !== 'POST') return sendJson(response, 405, { error: 'POST only.' });
      let text: string;
      try {
        text = await readBody(request, 16 * 1024);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendJson(response, 413, { error: error.message });
        throw error;
      }
      const result = await services.kyc.handleWebhook(text, {
        [webhookHeaders.timestamp]: headerValue(request, webhookHeaders.timestamp),
        [webhookHeaders.nonce]: headerValue(request, webhookHeaders.nonce),
        [webhookHeaders.signature]: headerValue(request, webhookHeaders.signature),
      });
      sendJson(response, result.status, result.body);
    },
  };
}
