import { describe, expect, it } from 'vitest';
import { afterFailure, lockRemainingMs, loginThrottlePolicy, throttleSubject } from './login-throttle.ts';

describe('login throttle policy', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = (ms: number) => new Date(t0.getTime() + ms);

  it('locks on the fifth failure within the window, for the lock duration', () => {
    let state = null;
    for (let i = 1; i < loginThrottlePolicy.maxFailures; i++) {
      const step = afterFailure(state, at(i * 1000));
      expect(step.locked).toBe(false);
      state = step.next;
    }
    const locking = afterFailure(state, at(10_000));
    expect(locking.locked).toBe(true);
    expect(lockRemainingMs(locking.next, at(10_000))).toBe(loginThrottlePolicy.lockMs);
    expect(lockRemainingMs(locking.next, at(10_000 + loginThrottlePolicy.lockMs))).toBe(0);
  });

  it('forgets failures older than the window', () => {
    let state = null;
    for (let i = 0; i < loginThrottlePolicy.maxFailures - 1; i++) state = afterFailure(state, at(0)).next;
    const later = afterFailure(state, at(loginThrottlePolicy.windowMs));
    expect(later.locked).toBe(false);
    expect(later.next.failures).toBe(1);
  });

  it('keys by the normalised email only', () => {
    expect(throttleSubject('a@b.test')).toMatch(/^[0-9a-f]{64}$/);
    expect(throttleSubject('a@b.test')).not.toBe(throttleSubject('b@b.test'));
  });
});
