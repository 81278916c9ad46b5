/**
 * The KYC provider port and the built-in local provider. A real provider (Onfido, Sumsub, ...)
 * receives the case and later calls identity back on its signed webhook; the local provider does the
 * same with `decideByRules` so the whole flow — including signature, timestamp and nonce checks on
 * the callback — runs on one machine.
 */
import type { Logger } from '@graphex/runtime';
import { decideByRules, type KycSubmission } from './domain/kyc.ts';
import { signWebhook } from './domain/webhook-signature.ts';

export interface KycProviderCase {
  readonly id: string;
  readonly userId: string;
  readonly submission: KycSubmission;
}

export interface KycProvider {
  readonly name: string;
  /** Accepts a case for checking; the decision arrives later on the webhook. */
  submit(kycCase: KycProviderCase): Promise<void>;
  /** Resolves when no callback is in flight (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Body of a provider callback. REVIEW leaves the case to a compliance officer. */
export interface KycWebhookBody {
  readonly caseId: string;
  readonly decision: 'APPROVE' | 'REJECT' | 'REVIEW';
  readonly reason: string;
  readonly tier?: number;
}

/** Sends a signed callback; the HTTP transport posts to identity's /webhooks/kyc. */
export type WebhookTransport = (body: string, headers: Record<string, string>) => Promise<void>;

export function createLocalRulesProvider(options: {
  webhookSecret: string;
  deliver: WebhookTransport;
  logger: Logger;
  clock: () => Date;
  /** Delay before the callback, as a real provider would take (default 0). */
  delayMs?: number;
  maxAttempts?: number;
}): KycProvider {
  const inFlight = new Set<Promise<void>>();
  let closed = false;
  const maxAttempts = options.maxAttempts ?? 3;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function callBack(kycCase: KycProviderCase): Promise<void> {
    await sleep(options.delayMs ?? 0);
    const decided = decideByRules(kycCase.submission, options.clock());
    const body: KycWebhookBody = {
      caseId: kycCase.id,
      decision: decided.decision,
      reason: decided.reason,
      ...(decided.decision === 'APPROVE' ? { tier: decided.tier } : {}),
    };
    const text = JSON.stringify(body);
    for (let attempt = 1; attempt <= maxAttempts && !closed; attempt++) {
      try {
        // Each attempt is signed afresh: a new nonce, so a retry is not mistaken for a replay.
        await options.deliver(text, signWebhook(options.webhookSecret, text, options.clock().getTime()));
        return;
      } catch (error) {
        options.logger.warn('kyc callback failed', { caseId: kycCase.id, attempt, error });
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  return {
    name: 'local-rules',
    async submit(kycCase) {
      if (closed) throw new Error('KYC provider is closed');
      const task = callBack(kycCase).finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
    idle: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    close: async () => {
      closed = true;
      await Promise.allSettled([...inFlight]);
    },
  };
}
