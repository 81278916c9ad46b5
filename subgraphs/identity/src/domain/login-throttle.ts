/**
 * Brute-force policy for sign-in, per email (known or not, so lockouts reveal nothing about which
 * accounts exist): `maxFailures` wrong passwords or TOTP codes within `windowMs` lock the email for
 * `lockMs`. The gateway separately limits sign-in attempts per client IP.
 */
import { createHash } from 'node:crypto';

export const loginThrottlePolicy = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
} as const;

export interface ThrottleState {
  readonly failures: number;
  readonly windowStartedAt: Date;
  readonly lockedUntil: Date | null;
}

export function throttleSubject(normalisedEmail: string): string {
  return createHash('sha256').update(`login:${normalisedEmail}`, 'utf8').digest('hex');
}

/** Milliseconds until the lock ends, or 0 when not locked. */
export function lockRemainingMs(state: ThrottleState | null, now: Date): number {
  if (!state?.lockedUntil) return 0;
  return Math.max(0, state.lockedUntil.getTime() - now.getTime());
}

/** The state after one more failure at `now`; `locked` when this failure started a lock. */
export function afterFailure(
  state: ThrottleState | null,
  now: Date,
  policy: typeof loginThrottlePolicy = loginThrottlePolicy,
): { next: ThrottleState; locked: boolean } {
  const windowOpen = state !== null && now.getTime() - state.windowStartedAt.getTime() < policy.windowMs;
  const failures = (windowOpen ? state.failures : 0) + 1;
  const windowStartedAt = windowOpen ? state.windowStartedAt : now;
  if (failures >= policy.maxFailures) {
    return {
      next: { failures: 0, windowStartedAt: now, lockedUntil: new Date(now.getTime() + policy.lockMs) },
      locked: true,
    };
  }
  return { next: { failures, windowStartedAt, lockedUntil: null }, locked: false };
}
