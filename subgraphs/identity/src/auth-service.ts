/**
 * Identity use cases: register, login, refresh-token rotation, logout, admin bootstrap.
 *
 * Sessions: every sign-in creates a session (a refresh-token family). Refresh tokens are opaque,
 * single-use and stored hashed; exchanging one marks it spent and issues the next one in the same
 * session. Presenting a spent token again means it was copied — the whole session is revoked, so
 * both the thief's and the victim's tokens stop working (OAuth 2.0 Security BCP, section 4.14).
 */
import { randomUUID } from 'node:crypto';
import {
  signAccessToken,
  type Database,
  type Identity,
  type Logger,
  type PlatformConfig,
  type Role,
} from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { checkEmail } from './domain/email.ts';
import { checkPassword, passwordViolationMessages } from './domain/password-policy.ts';
import { hashRefreshToken, looksLikeRefreshToken, newRefreshToken } from './domain/refresh-token.ts';
import { isUuid, type UserRecord } from './domain/user.ts';
import type { PasswordHasher } from './password-hasher.ts';
import {
  insertRefreshToken,
  insertSession,
  lockRefreshToken,
  markRefreshTokenUsed,
  revokeSession,
  touchSession,
} from './store/sessions.ts';
import { findCredentialsByEmail, findUserById, insertUser, setRoleByEmail } from './store/users.ts';
import type { Queryable } from '@graphex/runtime';
import { systemActor, type Actor, type Auditor } from './audit.ts';
import { afterFailure, lockRemainingMs, throttleSubject } from './domain/login-throttle.ts';
import { clearThrottle, lockThrottle, readThrottle, writeThrottle } from './store/throttle.ts';
import { revokeAllSessions, sessionStatus } from './store/sessions.ts';
import type { TwoFactorService } from './two-factor-service.ts';

/** What register/login/refreshSession return (the `AuthPayload` of the schema). */
export interface AuthResult {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: Date;
  readonly user: UserRecord;
}

/** Passwords longer than this are not even hashed at login (registration allows far fewer). */
const maxLoginPasswordLength = 1024;

export interface AuthServiceOptions {
  readonly db: Database;
  readonly config: Pick<PlatformConfig, 'jwtSecret' | 'jwtAccessTtlSeconds' | 'jwtRefreshTtlSeconds'>;
  readonly hasher: PasswordHasher;
  readonly logger: Logger;
  readonly twoFactor: TwoFactorService;
  readonly audit: Auditor;
  readonly clock?: () => Date;
}

export type AdminBootstrapOutcome = 'created' | 'promoted' | 'unchanged';

export interface AuthService {
  /** `requestId` (the request's id, for the audit entry) defaults to the operation name. */
  register(input: { email: string; password: string }, requestId?: string): Promise<AuthResult>;
  login(
    input: { email: string; password: string; totpCode?: string | null },
    requestId?: string,
  ): Promise<AuthResult>;
  refreshSession(refreshToken: string, requestId?: string): Promise<AuthResult>;
  /** Revokes the identity's current session; false when there is none (API key, already revoked). */
  logout(identity: Identity, requestId?: string): Promise<boolean>;
  /** Revokes every session of the caller (all devices); how many were active. */
  logoutAll(actor: Actor): Promise<number>;
  /** For the gateway: is this session active, and what is the user's role now. */
  sessionStatus(userId: string, sessionId: string): Promise<{ active: boolean; role: Role | null }>;
  /** Ensures an ADMIN user with this email exists (idempotent). */
  bootstrapAdmin(email: string, password: string): Promise<AdminBootstrapOutcome>;
}

/** The identity of a user who just proved who they are (register, login) in `sessionId`. */
function userIdentity(user: UserRecord, sessionId: string): Identity {
  return { kind: 'user', userId: user.id, role: user.role, sessionId };
}

function invalidCredentials(): Error {
  return apiError('INVALID_CREDENTIALS', 'Email or password is incorrect.');
}

function accountLocked(retryAfterMs: number): Error {
  return apiError('ACCOUNT_LOCKED', 'Too many failed sign-ins for this email; try again later.', {
    retryAfterMs,
  });
}

export function createAuthService(options: AuthServiceOptions): AuthService {
  const { db, config, hasher, logger, twoFactor, audit } = options;
  const clock = options.clock ?? (() => new Date());

  /** Issues a refresh token in `sessionId` (inside the caller's transaction). */
  async function issueRefreshToken(tx: Queryable, sessionId: string, now: Date) {
    const { token, tokenHash } = newRefreshToken();
    const expiresAt = new Date(now.getTime() + config.jwtRefreshTtlSeconds * 1000);
    await insertRefreshToken(tx, { tokenHash, sessionId, issuedAt: now, expiresAt });
    return { token, expiresAt };
  }

  async function authResult(
    user: UserRecord,
    sessionId: string,
    refresh: { token: string; expiresAt: Date },
    now: Date,
  ): Promise<AuthResult> {
    const accessToken = await signAccessToken(
      { userId: user.id, role: user.role, sessionId },
      config.jwtSecret,
      config.jwtAccessTtlSeconds,
    );
    return {
      accessToken,
      accessTokenExpiresAt: new Date(now.getTime() + config.jwtAccessTtlSeconds * 1000),
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refresh.expiresAt,
      user,
    };
  }

  /**
   * Counts a failed sign-in for the email and audits it (the caller is anonymous: the entry names
   * the email only by its hash, never the password); the failure that reaches the limit locks it.
   */
  async function recordFailure(
    subject: string,
    userId: string | null,
    reason: 'INVALID_CREDENTIALS' | 'TWO_FACTOR_INVALID',
    requestId: string,
  ): Promise<void> {
    const now = clock();
    await db.transaction(async (tx) => {
      const { next, locked } = afterFailure(await lockThrottle(tx, subject, now), now);
      await writeThrottle(tx, subject, next);
      await audit.append(
        tx,
        { identity: { kind: 'anonymous' }, requestId, name: 'anonymous', actorRole: 'ANONYMOUS' },
        'LOGIN_FAILED',
        userId,
        { emailHash: subject, reason, knownAccount: String(userId !== null) },
      );
      if (locked) {
        await audit.append(
          tx,
          { identity: { kind: 'anonymous' }, requestId, name: 'login-throttle' },
          'ACCOUNT_LOCKED',
          userId,
          {
            until: next.lockedUntil!.toISOString(),
          },
        );
      }
    });
  }

  /** Starts a session for `user` (inside the caller's transaction). */
  async function startSession(tx: Queryable, user: UserRecord, now: Date) {
    const sessionId = randomUUID();
    await insertSession(tx, { id: sessionId, userId: user.id, createdAt: now });
    const refresh = await issueRefreshToken(tx, sessionId, now);
    return { sessionId, refresh };
  }

  return {
    async register(input, requestId = 'register') {
      const email = checkEmail(input.email);
      if (!email.ok) throw apiError('BAD_USER_INPUT', email.reason, { field: 'email' });
      const violations = checkPassword(input.password, email.email);
      if (violations.length > 0) {
        throw apiError('BAD_USER_INPUT', violations.map((v) => passwordViolationMessages[v]).join(' '), {
          field: 'password',
          violations,
        });
      }
      const passwordHash = await hasher.hash(input.password);
      const now = clock();
      const { user, sessionId, refresh } = await db.transaction(async (tx) => {
        const inserted = await insertUser(tx, {
          id: randomUUID(),
          email: email.email,
          passwordHash,
          role: 'USER',
          createdAt: now,
        });
        if (!inserted)
          throw apiError('ALREADY_EXISTS', 'An account with this email already exists.', { field: 'email' });
        const session = await startSession(tx, inserted, now);
        await audit.append(
          tx,
          { identity: userIdentity(inserted, session.sessionId), requestId },
          'USER_REGISTERED',
          inserted.id,
          {},
        );
        return { user: inserted, ...session };
      });
      logger.info('user registered', { userId: user.id, sessionId });
      return authResult(user, sessionId, refresh, now);
    },

    async login(input, requestId = 'login') {
      const email = checkEmail(input.email);
      // Neither check depends on stored data, so answering fast reveals nothing about accounts.
      if (!email.ok || input.password.length > maxLoginPasswordLength) throw invalidCredentials();
      // Throttling is per email whether or not an account has it: known and unknown emails lock
      // alike, so a lockout reveals nothing either.
      const subject = throttleSubject(email.email);
      const locked = lockRemainingMs(await readThrottle(db, subject), clock());
      if (locked > 0) throw accountLocked(locked);
      const credentials = await findCredentialsByEmail(db, email.email);
      const passwordOk = credentials
        ? await hasher.verify(credentials.passwordHash, input.password)
        : await hasher.verifyDummy(input.password);
      if (!credentials || !passwordOk) {
        logger.info('login failed', {
          reason: credentials ? 'wrong password' : 'unknown email',
          ...(credentials ? { userId: credentials.user.id } : {}),
        });
        await recordFailure(subject, credentials?.user.id ?? null, 'INVALID_CREDENTIALS', requestId);
        throw invalidCredentials();
      }
      const now = clock();
      const outcome = await db.transaction(async (tx) => {
        if (credentials.user.twoFactorEnabled) {
          if (!input.totpCode) return { kind: 'totp-required' as const };
          const checked = await twoFactor.verifyCode(tx, credentials.user.id, input.totpCode);
          if (checked !== 'OK') return { kind: 'totp-invalid' as const };
        }
        await clearThrottle(tx, subject);
        const session = await startSession(tx, credentials.user, now);
        await audit.append(
          tx,
          { identity: userIdentity(credentials.user, session.sessionId), requestId },
          'LOGIN_SUCCEEDED',
          credentials.user.id,
          { twoFactor: String(credentials.user.twoFactorEnabled) },
        );
        return { kind: 'ok' as const, ...session };
      });
      if (outcome.kind === 'totp-required')
        throw apiError('TWO_FACTOR_REQUIRED', 'This account has two-factor authentication: send totpCode.');
      if (outcome.kind === 'totp-invalid') {
        await recordFailure(subject, credentials.user.id, 'TWO_FACTOR_INVALID', requestId);
        throw apiError('TWO_FACTOR_INVALID', 'The two-factor code is wrong, expired or already used.');
      }
      logger.info('user signed in', { userId: credentials.user.id, sessionId: outcome.sessionId });
      return authResult(credentials.user, outcome.sessionId, outcome.refresh, now);
    },

    async logoutAll(actor) {
      const { identity } = actor;
      if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
      if (identity.kind !== 'user') throw apiError('FORBIDDEN', 'API keys cannot sign sessions out.');
      return db.transaction(async (tx) => {
        const revoked = await revokeAllSessions(tx, identity.userId, 'LOGOUT_ALL', clock());
        await audit.append(tx, actor, 'SESSIONS_REVOKED', identity.userId, { count: String(revoked) });
        return revoked;
      });
    },

    sessionStatus: (userId, sessionId) =>
      isUuid(userId) && isUuid(sessionId)
        ? sessionStatus(db, userId, sessionId)
        : Promise.resolve({ active: false, role: null }),

    async refreshSession(refreshToken, requestId = 'refreshSession') {
      const rejected = () =>
        apiError('UNAUTHENTICATED', 'The refresh token is invalid, expired or revoked. Sign in again.');
      if (!looksLikeRefreshToken(refreshToken)) throw rejected();
      const tokenHash = hashRefreshToken(refreshToken);
      const now = clock();
      // The transaction returns (rather than throws) on refusal so that a reuse revocation commits.
      const outcome = await db.transaction(async (tx) => {
        const state = await lockRefreshToken(tx, tokenHash);
        if (!state || state.sessionRevokedAt) return { kind: 'rejected' as const };
        const revokeFamily = async () => {
          await revokeSession(tx, { id: state.sessionId, userId: state.userId }, 'REFRESH_TOKEN_REUSE', now);
          // Someone replayed a used refresh token: a stolen token or a buggy client; worth a record.
          await audit.append(
            tx,
            { identity: { kind: 'anonymous' }, requestId, name: 'refresh-token-guard' },
            'REFRESH_TOKEN_REUSED',
            state.userId,
            { revokedSessionId: state.sessionId },
          );
          return { kind: 'reused' as const, sessionId: state.sessionId, userId: state.userId };
        };
        if (state.usedAt) return revokeFamily();
        if (state.expiresAt.getTime() <= now.getTime()) return { kind: 'rejected' as const };
        // The row lock makes this the only exchange of the token; false would mean a lost lock.
        if (!(await markRefreshTokenUsed(tx, tokenHash, now))) return revokeFamily();
        const user = await findUserById(tx, state.userId);
        if (!user) throw new Error(`Session ${state.sessionId} belongs to missing user ${state.userId}`);
        await touchSession(tx, state.sessionId, now);
        const refresh = await issueRefreshToken(tx, state.sessionId, now);
        return { kind: 'rotated' as const, user, sessionId: state.sessionId, refresh };
      });
      if (outcome.kind === 'reused') {
        logger.warn('refresh token reuse: session revoked', {
          userId: outcome.userId,
          sessionId: outcome.sessionId,
        });
        throw rejected();
      }
      if (outcome.kind === 'rejected') throw rejected();
      return authResult(outcome.user, outcome.sessionId, outcome.refresh, now);
    },

    async logout(identity, requestId = 'logout') {
      if (identity.kind === 'anonymous') throw apiError('UNAUTHENTICATED', 'Sign in to do this.');
      // API keys have no session; a session id that is not a UUID cannot name one of ours.
      if (identity.kind !== 'user' || identity.sessionId === null || !isUuid(identity.sessionId))
        return false;
      const sessionId = identity.sessionId;
      const revoked = await db.transaction(async (tx) => {
        const done = await revokeSession(tx, { id: sessionId, userId: identity.userId }, 'LOGOUT', clock());
        if (done) await audit.append(tx, { identity, requestId }, 'LOGGED_OUT', identity.userId, {});
        return done;
      });
      if (revoked) logger.info('user signed out', { userId: identity.userId, sessionId: identity.sessionId });
      return revoked;
    },

    bootstrapAdmin: (rawEmail, password) => bootstrap(rawEmail, password, 0),
  };

  async function bootstrap(
    rawEmail: string,
    password: string,
    attempt: number,
  ): Promise<AdminBootstrapOutcome> {
    const email = checkEmail(rawEmail);
    if (!email.ok) throw new Error(`EXCHANGE_ADMIN_EMAIL is not a valid email address: ${email.reason}`);
    const existing = await findCredentialsByEmail(db, email.email);
    if (existing) {
      if (existing.user.role === 'ADMIN') return 'unchanged';
      // Promoting an account someone else may have registered with this email would hand them
      // the exchange; only promote when the configured password proves it is the operator's.
      if (!(await hasher.verify(existing.passwordHash, password))) {
        throw new Error(
          `EXCHANGE_ADMIN_EMAIL ${email.email} belongs to an existing non-admin account whose password is not EXCHANGE_ADMIN_PASSWORD; refusing to promote it.`,
        );
      }
      await db.transaction(async (tx) => {
        await setRoleByEmail(tx, email.email, 'ADMIN');
        await audit.append(
          tx,
          systemActor('admin-bootstrap', 'startup'),
          'ADMIN_BOOTSTRAPPED',
          existing.user.id,
          {
            outcome: 'promoted',
            from: existing.user.role,
          },
        );
      });
      logger.info('admin user promoted', { userId: existing.user.id, email: email.email });
      return 'promoted';
    }
    const violations = checkPassword(password, email.email);
    if (violations.length > 0) {
      throw new Error(
        `EXCHANGE_ADMIN_PASSWORD does not meet the password policy: ${violations.map((v) => passwordViolationMessages[v]).join(' ')}`,
      );
    }
    const passwordHash = await hasher.hash(password);
    const created = await db.transaction(async (tx) => {
      const inserted = await insertUser(tx, {
        id: randomUUID(),
        email: email.email,
        passwordHash,
        role: 'ADMIN',
        createdAt: clock(),
      });
      if (inserted)
        await audit.append(tx, systemActor('admin-bootstrap', 'startup'), 'ADMIN_BOOTSTRAPPED', inserted.id, {
          outcome: 'created',
        });
      return inserted;
    });
    if (!created) {
      // Someone created this email between our read and insert: decide again on what exists now
      // (the insert cannot lose twice: the row is there for the second pass).
      if (attempt > 0) throw new Error(`Admin bootstrap for ${email.email} raced twice; giving up.`);
      return bootstrap(rawEmail, password, attempt + 1);
    }
    logger.info('admin user created', { userId: created.id, email: email.email });
    return 'created';
  }
}
