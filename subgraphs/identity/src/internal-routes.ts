/**
 * Identity's plain HTTP routes beside /graphql (runtime `identity-internal.ts` documents them):
 * internal endpoints for platform services (service token required) and the KYC provider webhook
 * (HMAC-signed, timestamp + nonce). Neither is reachable through the gateway.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BodyTooLargeError,
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

async function jsonBody(request: IncomingMessage): Promise<Record<string, unknown> | null> {
  const text = await readBody(request, maxInternalBodyBytes);
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
    (handler: (body: Record<string, unknown>) => Promise<unknown>): Route =>
    async (request, response) => {
      if (request.method !== 'POST') return sendJson(response, 405, { error: 'POST only.' });
      const service = await verifyServiceToken(
        headerValue(request, serviceTokenHeader),
        services.internalTokenSecret,
      );
      if (!service) return sendJson(response, 401, { error: 'A platform service token is required.' });
      let body: Record<string, unknown> | null;
      try {
        body = await jsonBody(request);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendJson(response, 413, { error: error.message });
        throw error;
      }
      if (!body) return sendJson(response, 400, { error: 'Body must be a JSON object.' });
      const result = await handler(body);
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
