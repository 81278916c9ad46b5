import { describe, expect, it } from 'vitest';
import { checkWebhook, signWebhook, webhookHeaders, webhookToleranceMs } from './webhook-signature.ts';

const secret = 'webhook-secret-webhook-secret-0123456789';
const headersOf = (h: Record<string, string>) => ({
  timestamp: h[webhookHeaders.timestamp],
  nonce: h[webhookHeaders.nonce],
  signature: h[webhookHeaders.signature],
});

describe('webhook signatures', () => {
  it('accepts its own signature within the tolerance, with a fresh nonce each time', () => {
    const now = 1_800_000_000_000;
    const a = signWebhook(secret, '{"x":1}', now);
    const b = signWebhook(secret, '{"x":1}', now);
    expect(a[webhookHeaders.nonce]).not.toBe(b[webhookHeaders.nonce]);
    expect(checkWebhook(secret, headersOf(a), '{"x":1}', now + webhookToleranceMs)).toMatchObject({
      ok: true,
    });
  });

  it('refuses edited bodies, other secrets, stale timestamps and missing headers', () => {
    const now = 1_800_000_000_000;
    const signed = signWebhook(secret, '{"x":1}', now);
    expect(checkWebhook(secret, headersOf(signed), '{"x":2}', now)).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
    expect(checkWebhook(`${secret}!`, headersOf(signed), '{"x":1}', now)).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
    expect(checkWebhook(secret, headersOf(signed), '{"x":1}', now + webhookToleranceMs + 1)).toEqual({
      ok: false,
      reason: 'STALE_TIMESTAMP',
    });
    expect(checkWebhook(secret, { ...headersOf(signed), nonce: undefined }, '{"x":1}', now)).toEqual({
      ok: false,
      reason: 'MISSING_HEADERS',
    });
  });
});
