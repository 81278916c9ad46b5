/**
 * Signed KYC provider callbacks: `v1=` + hex HMAC-SHA256 over `${timestamp}.${nonce}.${body}`.
 * The receiver refuses a bad signature, a timestamp outside ±`toleranceMs`, and a nonce it has seen
 * (the nonce store lives with the receiver). Comparison is constant-time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const webhookHeaders = {
  timestamp: 'x-graphex-kyc-timestamp',
  nonce: 'x-graphex-kyc-nonce',
  signature: 'x-graphex-kyc-signature',
} as const;
export const webhookToleranceMs = 5 * 60_000;
export const maxWebhookBodyBytes = 16 * 1024;

export function webhookSignature(secret: string, timestampMs: string, nonce: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestampMs}.${nonce}.${body}`, 'utf8').digest('hex')}`;
}

/** Headers for a callback of `body` signed now. */
export function signWebhook(secret: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = String(nowMs);
  const nonce = randomBytes(18).toString('base64url');
  return {
    [webhookHeaders.timestamp]: timestamp,
    [webhookHeaders.nonce]: nonce,
    [webhookHeaders.signature]: webhookSignature(secret, timestamp, nonce, body),
  };
}

export type WebhookCheck =
  | { readonly ok: true; readonly nonce: string }
  | { readonly ok: false; readonly reason: 'MISSING_HEADERS' | 'STALE_TIMESTAMP' | 'BAD_SIGNATURE' };

/** Signature and freshness; the caller still has to record the nonce (replay). */
export function checkWebhook(
  secret: string,
  headers: { timestamp?: string | undefined; nonce?: string | undefined; signature?: string | undefined },
  body: string,
  nowMs: number,
): WebhookCheck {
  const { timestamp, nonce, signature } = headers;
  if (
    !timestamp ||
    !nonce ||
    !signature ||
    !/^[0-9]{1,16}$/.test(timestamp) ||
    !/^[A-Za-z0-9_-]{16,128}$/.test(nonce)
  )
    return { ok: false, reason: 'MISSING_HEADERS' };
  const expected = Buffer.from(webhookSignature(secret, timestamp, nonce, body));
  const given = Buffer.from(signature);
  // Signature first, so an unsigned probe learns nothing about our clock.
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'BAD_SIGNATURE' };
  if (Math.abs(nowMs - Number(timestamp)) > webhookToleranceMs)
    return { ok: false, reason: 'STALE_TIMESTAMP' };
  return { ok: true, nonce };
}
