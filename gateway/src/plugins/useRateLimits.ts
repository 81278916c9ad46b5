/**
 * Rate limits at the edge, on the limits port (memory, or Redis via REDIS_URL so every gateway
 * instance shares the budget):
 *
 * - per client IP, before the credential is even checked (a flood of forged tokens costs the
 *   attacker, not identity);
 * - per identity (user, API key), after authentication — anonymous callers are covered by the IP
 *   budget;
 * - per client IP for sign-in mutations (register, login, refreshSession), a much smaller budget:
 *   with identity's per-email lockout this bounds password guessing both across accounts and per
 *   account.
 *
 * A refusal is RATE_LIMITED with `extensions.retryAfterMs`, HTTP 429 and `Retry-After` (seconds).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { Identity, Logger, RateLimiter, RateLimitRule } from '@graphex/runtime';
import { rootFieldsOf, signInFields } from '../auth/operation-policy.ts';
import type { GatewayContext } from '../subgraph-data-source.ts';
import { edgeError } from './edge-error.ts';

export interface RateLimitRules {
  readonly perIp: RateLimitRule;
  readonly perIdentity: RateLimitRule;
  readonly signInPerIp: RateLimitRule;
}

export const defaultRateLimitRules: RateLimitRules = {
  perIp: { limit: 1_200, windowMs: 60_000 },
  perIdentity: { limit: 600, windowMs: 60_000 },
  signInPerIp: { limit: 30, windowMs: 60_000 },
};

function rateLimited(what: string, retryAfterMs: number) {
  return edgeError(
    'RATE_LIMITED',
    `Too many requests ${what}; retry in ${Math.ceil(retryAfterMs / 1000)} s.`,
    { retryAfterMs },
    [['retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000)))]],
  );
}

function identityKey(identity: Identity): string | null {
  if (identity.kind === 'anonymous') return null;
  return identity.kind === 'apiKey' ? `key:${identity.apiKeyId}` : `user:${identity.userId}`;
}

export interface RateLimitGate {
  admitIp(clientIp: string): Promise<void>;
  admitIdentity(identity: Identity): Promise<void>;
}

export function createRateLimitGate(
  limiter: RateLimiter,
  rules: RateLimitRules,
  logger: Logger,
): RateLimitGate {
  const consume = async (key: string, rule: RateLimitRule, what: string) => {
    let decision;
    try {
      decision = await limiter.consume(key, rule);
    } catch (error) {
      // A limiter outage must not take the exchange down: admit, and say so loudly.
      logger.error('rate limiter unavailable; admitting', { error });
      return;
    }
    if (!decision.allowed) throw rateLimited(what, decision.retryAfterMs);
  };
  return {
    admitIp: (clientIp) => consume(`ip:${clientIp}`, rules.perIp, 'from this address'),
    admitIdentity: async (identity) => {
      const key = identityKey(identity);
      if (key) await consume(`id:${key}`, rules.perIdentity, 'for this credential');
    },
  };
}

/** The sign-in budget per client IP; `clientIpOf` finds the address the context was created for. */
export function useSignInRateLimit(
  limiter: RateLimiter,
  rule: RateLimitRule,
  clientIpOf: (context: GatewayContext) => string | undefined,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, document, operation }) {
          if (!operation || operation.operation !== 'mutation') return;
          if (!rootFieldsOf(document, operation).some((field) => signInFields.has(field))) return;
          const decision = await limiter.consume(`signin:${clientIpOf(contextValue) ?? 'unknown'}`, rule);
          if (!decision.allowed) throw rateLimited('to sign in from this address', decision.retryAfterMs);
        },
      };
    },
  };
}
