/**
 * Two-factor authentication with TOTP (RFC 6238, runtime `totp.ts`): enrol (a pending secret and
 * its otpauth:// URI), confirm with a first code (enables 2FA), disable with a code (also signs
 * every session out). `verifyCode` is the one place a code is accepted — login, API-key creation
 * and, through identity's internal endpoint, withdrawals — and it records the accepted time step
 * under a row lock, so each code works once.
 */
import {
  matchTotp,
  newTotpSecret,
  totpProvisioningUri,
  type Database,
  type Logger,
  type Queryable,
  type TwoFactorOutcome,
} from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import type { Actor, Auditor } from './audit.ts';
import type { SecretBox } from './domain/secret-box.ts';
import { createHash } from 'node:crypto';
import { afterFailure, lockRemainingMs } from './domain/login-throttle.ts';
import { revokeAllSessions } from './store/sessions.ts';
import { clearThrottle, lockThrottle, writeThrottle } from './store/throttle.ts';
import {
  disableTotp,
  enableTotp,
  findUserById,
  readTwoFactor,
  setPendingTotp,
  setTotpLastStep,
} from './store/users.ts';

/** The outcome of checking one code (locking is the callers' business). */
export type CodeCheck = Exclude<TwoFactorOutcome, 'LOCKED'>;

export interface TwoFactorEnrollment {
  readonly secret: string;
  readonly provisioningUri: string;
}

export interface TwoFactorService {
  enroll(actor: Actor): Promise<TwoFactorEnrollment>;
  confirm(actor: Actor, code: string): Promise<boolean>;
  disable(actor: Actor, code: string): Promise<boolean>;
  /** Checks and spends a code inside the caller's transaction. */
  verifyCode(tx: Queryable, userId: string, code: string): Promise<CodeCheck>;
  /**
   * `verifyCode` in its own transaction, for other services (withdrawals). Wrong codes are counted
   * per user like failed sign-ins: the 5th within 15 min locks this path for 15 min (`LOCKED`).
   */
  verify(userId: string, code: string): Promise<TwoFactorOutcome>;
}

export function createTwoFactorService(options: {
  db: Database;
  box: SecretBox;
  audit: Auditor;
  logger: Logger;
  clock: () => Date;
}): TwoFactorService {
  const { db, box, audit, clock } = options;

  function sessionUser(actor: Actor): string {
    const { identity } = actor;
    if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
    // Managing the second factor needs the person, not a bot key.
    if (identity.kind !== 'user')
      throw apiError('FORBIDDEN', 'API keys cannot manage two-factor authentication.');
    return identity.userId;
  }

  async function verifyCode(tx: Queryable, userId: string, code: string): Promise<CodeCheck> {
    const state = await readTwoFactor(tx, userId, true);
    if (!state?.enabled || !state.secretSealed) return 'NOT_ENABLED';
    const step = matchTotp(box.open(state.secretSealed), code, clock().getTime(), state.lastStep);
    if (step === null) return 'INVALID';
    await setTotpLastStep(tx, userId, step);
    return 'OK';
  }

  return {
    verifyCode,
    verify: (userId, code) =>
      db.transaction(async (tx) => {
        const subject = createHash('sha256').update(`totp:${userId}`, 'utf8').digest('hex');
        const now = clock();
        const throttle = await lockThrottle(tx, subject, now);
        if (lockRemainingMs(throttle, now) > 0) return 'LOCKED';
        const outcome = await verifyCode(tx, userId, code);
        if (outcome === 'INVALID') {
          const { next, locked } = afterFailure(throttle, now);
          await writeThrottle(tx, subject, next);
          if (locked)
            await audit.append(
              tx,
              { identity: { kind: 'anonymous' }, requestId: 'two-factor', name: 'two-factor-throttle' },
              'ACCOUNT_LOCKED',
              userId,
              { path: 'internal two-factor verification', until: next.lockedUntil!.toISOString() },
            );
        } else if (outcome === 'OK' && throttle) {
          await clearThrottle(tx, subject);
        }
        return outcome;
      }),

    async enroll(actor) {
      const userId = sessionUser(actor);
      const user = await findUserById(db, userId);
      if (!user) throw apiError('UNAUTHENTICATED', 'The account no longer exists.');
      if (user.twoFactorEnabled)
        throw apiError(
          'INVALID_STATE_TRANSITION',
          'Two-factor authentication is already enabled; disable it first.',
        );
      const secret = newTotpSecret();
      await setPendingTotp(db, userId, box.seal(secret));
      return { secret, provisioningUri: totpProvisioningUri(secret, user.email) };
    },

    async confirm(actor, code) {
      const userId = sessionUser(actor);
      const outcome = await db.transaction(async (tx) => {
        const state = await readTwoFactor(tx, userId, true);
        if (!state) return 'gone' as const;
        if (state.enabled) return 'enabled' as const;
        if (!state.pendingSealed) return 'not-enrolled' as const;
        const secret = box.open(state.pendingSealed);
        const step = matchTotp(secret, code, clock().getTime(), null);
        if (step === null) return 'invalid' as const;
        await enableTotp(tx, userId, box.seal(secret), step);
        await audit.append(tx, actor, 'TWO_FACTOR_ENABLED', userId, {});
        return 'ok' as const;
      });
      if (outcome === 'gone') throw apiError('UNAUTHENTICATED', 'The account no longer exists.');
      if (outcome === 'enabled' || outcome === 'not-enrolled')
        throw apiError(
          'INVALID_STATE_TRANSITION',
          outcome === 'enabled'
            ? 'Two-factor authentication is already enabled.'
            : 'Call enrollTwoFactor first.',
        );
      if (outcome === 'invalid') throw apiError('TWO_FACTOR_INVALID', 'The code is wrong or expired.');
      return true;
    },

    async disable(actor, code) {
      const userId = sessionUser(actor);
      const outcome = await db.transaction(async (tx) => {
        const result = await verifyCode(tx, userId, code);
        if (result !== 'OK') return result;
        await disableTotp(tx, userId);
        // Whoever could sign in before may not rely on sessions that were protected by 2FA.
        const revoked = await revokeAllSessions(tx, userId, 'TWO_FACTOR_DISABLED', clock());
        await audit.append(tx, actor, 'TWO_FACTOR_DISABLED', userId, { sessionsRevoked: String(revoked) });
        return result;
      });
      if (outcome === 'NOT_ENABLED')
        throw apiError('INVALID_STATE_TRANSITION', 'Two-factor authentication is not enabled.');
      if (outcome === 'INVALID')
        throw apiError('TWO_FACTOR_INVALID', 'The code is wrong, expired or already used.');
      return true;
    },
  };
}
