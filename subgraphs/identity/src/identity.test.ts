/**
 * Identity subgraph over HTTP, called the way the gateway calls it (signed internal identity).
 * Runs on PGlite by default and on PostgreSQL when DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, verifyAccessToken, type Identity, type RunningService } from '@graphex/runtime';
import { callSubgraph, openTestDatabase, testConfig, type TestDatabase } from '@graphex/runtime/testing';
import { createIdentityService, identityMigrationsDir, startIdentity } from './index.ts';
import { createArgon2Hasher, type PasswordHasher } from './password-hasher.ts';

const adminEmail = 'root@graphex.test';
const adminPassword = 'Admin-Password-2026';
const config = testConfig({
  EXCHANGE_ADMIN_EMAIL: ` ${adminEmail.toUpperCase()} `,
  EXCHANGE_ADMIN_PASSWORD: adminPassword,
});

let testDb: TestDatabase;
let service: RunningService;
let nowMs = Date.now();
const hasherCalls: string[] = [];

/** The real argon2 hasher, recording which operations ran. */
function recordingHasher(): PasswordHasher {
  const real = createArgon2Hasher();
  return {
    hash: (password) => (hasherCalls.push('hash'), real.hash(password)),
    verify: (hash, password) => (hasherCalls.push('verify'), real.verify(hash, password)),
    verifyDummy: (password) => (hasherCalls.push('verifyDummy'), real.verifyDummy(password)),
  };
}

const userFields = 'id email kycStatus twoFactorEnabled role createdAt';
const registerMutation = `mutation($input: RegisterInput!) { register(input: $input) {
  accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { ${userFields} } } }`;
const loginMutation = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id email role } } }`;
const refreshMutation = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { id email } } }`;

interface Payload {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string; role: string; kycStatus?: string; twoFactorEnabled?: boolean };
}

async function call<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  identity?: Identity,
) {
  return callSubgraph<T>(service.url, query, variables, identity, config);
}

/** Identity the gateway would derive from an access token. */
async function identityOf(accessToken: string): Promise<Identity> {
  const claims = await verifyAccessToken(accessToken, config.jwtSecret);
  expect(claims).not.toBeNull();
  return { kind: 'user', userId: claims!.userId, role: claims!.role, sessionId: claims!.sessionId };
}

async function register(email: string, password = 'Correct-Horse-9'): Promise<Payload> {
  const response = await call<{ register: Payload }>(registerMutation, { input: { email, password } });
  expect(response.errors).toBeUndefined();
  return response.data!.register;
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const result = await testDb.db.query<{ n: string | number }>(sql, params);
  return Number(result.rows[0]!.n);
}

beforeAll(async () => {
  testDb = await openTestDatabase('identity', identityMigrationsDir);
  service = await startIdentity(config, {
    port: 0,
    db: testDb.db,
    hasher: recordingHasher(),
    clock: () => new Date(nowMs),
  });
});

afterAll(async () => {
  await service?.close();
  await testDb?.dispose();
});

describe('register', () => {
  it('creates a user with a normalised email, default KYC and 2FA, and signs it in', async () => {
    const payload = await register('  Alice@Example.COM ');
    expect(payload.user).toMatchObject({
      email: 'alice@example.com',
      kycStatus: 'NONE',
      twoFactorEnabled: false,
      role: 'USER',
    });
    const claims = await verifyAccessToken(payload.accessToken, config.jwtSecret);
    expect(claims).toMatchObject({ userId: payload.user.id, role: 'USER' });
    expect(payload.refreshToken).toMatch(/^gxr_/);
    const stored = await testDb.db.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [payload.user.id],
    );
    expect(stored.rows[0]!.password_hash).toMatch(/^\$argon2id\$/);
    // Only the hash of the refresh token is stored.
    expect(
      await count('SELECT count(*) AS n FROM refresh_tokens WHERE token_hash = $1', [payload.refreshToken]),
    ).toBe(0);
    expect(await count('SELECT count(*) AS n FROM sessions WHERE id = $1', [claims!.sessionId])).toBe(1);
  });

  it('refuses a taken email in any case or spacing with ALREADY_EXISTS', async () => {
    await register('bob@example.com');
    const before = await count('SELECT count(*) AS n FROM users');
    const response = await call(registerMutation, {
      input: { email: ' BOB@example.com', password: 'Another-Pass-77' },
    });
    expect(response.errors?.[0]?.extensions?.['code']).toBe('ALREADY_EXISTS');
    expect(await count('SELECT count(*) AS n FROM users')).toBe(before);
  });

  it('lets exactly one of two concurrent registrations of an email win', async () => {
    const input = { email: 'race@example.com', password: 'Correct-Horse-9' };
    const results = await Promise.all([call(registerMutation, { input }), call(registerMutation, { input })]);
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
    expect(results.filter((r) => r.errors?.[0]?.extensions?.['code'] === 'ALREADY_EXISTS')).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM users WHERE email = $1', ['race@example.com'])).toBe(1);
  });

  it('refuses malformed emails and weak passwords with BAD_USER_INPUT, storing nothing', async () => {
    const before = await count('SELECT count(*) AS n FROM users');
    for (const email of [
      '',
      'plain',
      'a@b',
      'two@@example.com',
      'sp ace@example.com',
      'x@-bad-.com',
      `${'a'.repeat(65)}@example.com`,
    ]) {
      const response = await call(registerMutation, { input: { email, password: 'Correct-Horse-9' } });
      expect(response.errors?.[0]?.extensions, email).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'email',
      });
    }
    const weak: Array<[string, string]> = [
      ['Short-1', 'TOO_SHORT'],
      ['alllowercaseletters', 'SINGLE_CHARACTER_CLASS'],
      ['12345678901234', 'SINGLE_CHARACTER_CLASS'],
      ['aaaaaaaaaaaaA1', 'TOO_FEW_DISTINCT_CHARACTERS'],
      ['carol@example.com-Secret', 'CONTAINS_EMAIL'],
      ['Aa1!'.repeat(33), 'TOO_LONG'],
    ];
    for (const [password, violation] of weak) {
      const response = await call(registerMutation, { input: { email: 'carol@example.com', password } });
      expect(response.errors?.[0]?.extensions, password).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'password',
      });
      expect(response.errors?.[0]?.extensions?.['violations']).toContain(violation);
    }
    expect(await count('SELECT count(*) AS n FROM users')).toBe(before);
  });
});

describe('login', () => {
  it('signs in with the right password, in any email case', async () => {
    const registered = await register('dave@example.com', 'Dave-Password-1');
    const response = await call<{ login: Payload }>(loginMutation, {
      input: { email: 'DAVE@example.com ', password: 'Dave-Password-1', totpCode: null },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data!.login.user).toMatchObject({
      id: registered.user.id,
      email: 'dave@example.com',
      role: 'USER',
    });
    const loginSession = (await identityOf(response.data!.login.accessToken)) as { sessionId: string };
    const registerSession = (await identityOf(registered.accessToken)) as { sessionId: string };
    expect(loginSession.sessionId).not.toBe(registerSession.sessionId);
  });

  it('gives unknown emails and wrong passwords the same answer, after the same hashing work', async () => {
    await register('erin@example.com', 'Erin-Password-1');
    hasherCalls.length = 0;
    const unknown = await call(loginMutation, {
      input: { email: 'nobody@example.com', password: 'Erin-Password-1' },
    });
    expect(hasherCalls).toEqual(['verifyDummy']);
    hasherCalls.length = 0;
    const wrong = await call(loginMutation, {
      input: { email: 'erin@example.com', password: 'Erin-Password-2' },
    });
    expect(hasherCalls).toEqual(['verify']);
    expect(unknown.errors).toHaveLength(1);
    expect(unknown.errors?.[0]?.extensions?.['code']).toBe('INVALID_CREDENTIALS');
    expect(wrong.errors?.[0]).toEqual(unknown.errors?.[0]);
    expect(unknown.data).toEqual(wrong.data);
  });
});

describe('me and User visibility', () => {
  it('is null when anonymous and the user when signed in', async () => {
    const payload = await register('frank@example.com');
    const anonymous = await call<{ me: unknown }>('{ me { id } }');
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data!.me).toBeNull();
    const me = await call<{ me: Payload['user'] }>(
      `{ me { ${userFields} } }`,
      {},
      await identityOf(payload.accessToken),
    );
    expect(me.data!.me).toMatchObject({ id: payload.user.id, email: 'frank@example.com', kycStatus: 'NONE' });
  });

  it('resolves User references for anyone but shows private fields only to the user and staff', async () => {
    const grace = await register('grace@example.com');
    const heidi = await register('heidi@example.com');
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email kycStatus } } }`;
    const variables = { r: [{ __typename: 'User', id: grace.user.id }] };

    const self = await call<{ _entities: unknown[] }>(query, variables, await identityOf(grace.accessToken));
    expect(self.errors).toBeUndefined();
    expect(self.data!._entities[0]).toEqual({
      id: grace.user.id,
      email: 'grace@example.com',
      kycStatus: 'NONE',
    });

    for (const role of ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const) {
      const staff = await call<{ _entities: unknown[] }>(query, variables, {
        kind: 'user',
        userId: heidi.user.id,
        role,
        sessionId: null,
      });
      expect(staff.errors, role).toBeUndefined();
      expect(staff.data!._entities[0]).toMatchObject({ email: 'grace@example.com' });
    }

    const other = await call<{ _entities: unknown[] }>(query, variables, await identityOf(heidi.accessToken));
    // graphql-js stops at the first failed non-null field of the entity; every error is FORBIDDEN.
    expect(other.errors?.length).toBeGreaterThan(0);
    expect(new Set(other.errors?.map((e) => e.extensions?.['code']))).toEqual(new Set(['FORBIDDEN']));
    expect(other.errors?.[0]?.path?.slice(0, 2)).toEqual(['_entities', 0]);
    expect(JSON.stringify(other)).not.toContain('grace@example.com');
    const idOnly = await call<{ _entities: unknown[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }`,
      {
        r: [
          ...variables.r,
          { __typename: 'User', id: '00000000-0000-4000-8000-000000000000' },
          { __typename: 'User', id: 'not-a-uuid' },
        ],
      },
    );
    expect(idOnly.errors).toBeUndefined();
    expect(idOnly.data!._entities).toEqual([{ id: grace.user.id }, null, null]);
  });

  it('answers UNAUTHENTICATED without a gateway-signed identity', async () => {
    const response = await callSubgraph(service.url, '{ me { id } }', {}, null, config);
    expect(response.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('refresh tokens', () => {
  it('rotate: each token works once and returns a new one in the same session', async () => {
    const first = await register('ivan@example.com');
    const second = await call<{ refreshSession: Payload }>(refreshMutation, { t: first.refreshToken });
    expect(second.errors).toBeUndefined();
    const rotated = second.data!.refreshSession;
    expect(rotated.refreshToken).not.toBe(first.refreshToken);
    expect(rotated.user.email).toBe('ivan@example.com');
    const a = (await identityOf(first.accessToken)) as { sessionId: string };
    const b = (await identityOf(rotated.accessToken)) as { sessionId: string };
    expect(b.sessionId).toBe(a.sessionId);
    const third = await call<{ refreshSession: Payload }>(refreshMutation, { t: rotated.refreshToken });
    expect(third.errors).toBeUndefined();
  });

  it('revoke the whole family when a spent token is presented again', async () => {
    const first = await register('judy@example.com');
    const rotated = (await call<{ refreshSession: Payload }>(refreshMutation, { t: first.refreshToken }))
      .data!.refreshSession;
    const reuse = await call(refreshMutation, { t: first.refreshToken });
    expect(reuse.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    // The legitimate, never-used successor is dead too.
    const successor = await call(refreshMutation, { t: rotated.refreshToken });
    expect(successor.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const { sessionId } = (await identityOf(first.accessToken)) as { sessionId: string };
    const session = await testDb.db.query<{ revoked_reason: string }>(
      'SELECT revoked_reason FROM sessions WHERE id = $1',
      [sessionId],
    );
    expect(session.rows[0]!.revoked_reason).toBe('REFRESH_TOKEN_REUSE');
    // Another session of the same user is untouched.
    const login = (
      await call<{ login: Payload }>(loginMutation, {
        input: { email: 'judy@example.com', password: 'Correct-Horse-9' },
      })
    ).data!.login;
    expect((await call(refreshMutation, { t: login.refreshToken })).errors).toBeUndefined();
  });

  it('let only one of two concurrent exchanges of the same token through, then revoke the family', async () => {
    const first = await register('olga@example.com');
    const results = await Promise.all([
      call<{ refreshSession: Payload }>(refreshMutation, { t: first.refreshToken }),
      call<{ refreshSession: Payload }>(refreshMutation, { t: first.refreshToken }),
    ]);
    const won = results.filter((r) => r.errors === undefined);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.errors?.[0]?.extensions?.['code'] === 'UNAUTHENTICATED')).toHaveLength(1);
    const successor = await call(refreshMutation, { t: won[0]!.data!.refreshSession.refreshToken });
    expect(successor.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('refuse garbage, unknown and expired tokens', async () => {
    for (const t of ['', 'garbage', `gxr_${'A'.repeat(43)}`]) {
      const response = await call(refreshMutation, { t });
      expect(response.errors?.[0]?.extensions?.['code'], t).toBe('UNAUTHENTICATED');
    }
    const payload = await register('kim@example.com');
    nowMs += (config.jwtRefreshTtlSeconds + 1) * 1000;
    try {
      const expired = await call(refreshMutation, { t: payload.refreshToken });
      expect(expired.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    } finally {
      nowMs = Date.now();
    }
  });
});

describe('logout', () => {
  it('revokes the current session only', async () => {
    const registered = await register('leo@example.com');
    const other = (
      await call<{ login: Payload }>(loginMutation, {
        input: { email: 'leo@example.com', password: 'Correct-Horse-9' },
      })
    ).data!.login;
    const identity = await identityOf(registered.accessToken);
    const logout = await call<{ logout: boolean }>('mutation { logout }', {}, identity);
    expect(logout.data).toEqual({ logout: true });
    expect(
      (await call(refreshMutation, { t: registered.refreshToken })).errors?.[0]?.extensions?.['code'],
    ).toBe('UNAUTHENTICATED');
    expect((await call(refreshMutation, { t: other.refreshToken })).errors).toBeUndefined();
    expect((await call<{ logout: boolean }>('mutation { logout }', {}, identity)).data).toEqual({
      logout: false,
    });
  });

  it('is UNAUTHENTICATED when anonymous and cannot revoke another user’s session', async () => {
    expect((await call('mutation { logout }')).errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const victim = await register('mallory-target@example.com');
    const attacker = await register('mallory@example.com');
    const victimSession = ((await identityOf(victim.accessToken)) as { sessionId: string }).sessionId;
    const forged: Identity = {
      kind: 'user',
      userId: attacker.user.id,
      role: 'USER',
      sessionId: victimSession,
    };
    expect((await call<{ logout: boolean }>('mutation { logout }', {}, forged)).data).toEqual({
      logout: false,
    });
    const malformed: Identity = {
      kind: 'user',
      userId: attacker.user.id,
      role: 'USER',
      sessionId: 'not-a-session',
    };
    expect((await call<{ logout: boolean }>('mutation { logout }', {}, malformed)).data).toEqual({
      logout: false,
    });
    expect((await call(refreshMutation, { t: victim.refreshToken })).errors).toBeUndefined();
  });
});

describe('admin bootstrap', () => {
  it('created the configured admin on start, and signs it in as ADMIN', async () => {
    expect(
      await count(`SELECT count(*) AS n FROM users WHERE email = $1 AND role = 'ADMIN'`, [adminEmail]),
    ).toBe(1);
    const login = await call<{ login: Payload }>(loginMutation, {
      input: { email: adminEmail, password: adminPassword },
    });
    expect(login.data!.login.user.role).toBe('ADMIN');
    expect(await verifyAccessToken(login.data!.login.accessToken, config.jwtSecret)).toMatchObject({
      role: 'ADMIN',
    });
  });

  it('is idempotent, promotes an existing account only with the configured password, and never logs it', async () => {
    const lines: string[] = [];
    const logger = createLogger('identity', 'debug', {}, (line) => lines.push(line));
    const again = createIdentityService({ db: testDb.db, config, logger });
    expect(await again.bootstrapAdmin()).toBe('unchanged');
    expect(await count('SELECT count(*) AS n FROM users WHERE email = $1', [adminEmail])).toBe(1);

    const operator = await register('ops@example.com', 'Ops-Password-42');
    const promote = createIdentityService({
      db: testDb.db,
      config: testConfig({
        EXCHANGE_ADMIN_EMAIL: 'ops@example.com',
        EXCHANGE_ADMIN_PASSWORD: 'Ops-Password-42',
      }),
      logger,
    });
    expect(await promote.bootstrapAdmin()).toBe('promoted');
    expect(await promote.bootstrapAdmin()).toBe('unchanged');
    const role = await testDb.db.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [
      operator.user.id,
    ]);
    expect(role.rows[0]!.role).toBe('ADMIN');

    const squatter = await register('squat@example.com', 'Squatter-Pass-1');
    const hijack = createIdentityService({
      db: testDb.db,
      config: testConfig({
        EXCHANGE_ADMIN_EMAIL: 'squat@example.com',
        EXCHANGE_ADMIN_PASSWORD: 'Operator-Pass-1',
      }),
      logger,
    });
    await expect(hijack.bootstrapAdmin()).rejects.toThrow(/refusing to promote/);
    const squatterRole = await testDb.db.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [
      squatter.user.id,
    ]);
    expect(squatterRole.rows[0]!.role).toBe('USER');

    const weak = createIdentityService({
      db: testDb.db,
      config: testConfig({ EXCHANGE_ADMIN_EMAIL: 'new-admin@example.com', EXCHANGE_ADMIN_PASSWORD: 'admin' }),
      logger,
    });
    await expect(weak.bootstrapAdmin()).rejects.toThrow(/password policy/);
    expect(await count('SELECT count(*) AS n FROM users WHERE email = $1', ['new-admin@example.com'])).toBe(
      0,
    );

    expect(lines.some((line) => line.includes('admin user promoted'))).toBe(true);
    for (const secret of [adminPassword, 'Ops-Password-42', 'Operator-Pass-1']) {
      expect(lines.join('\n')).not.toContain(secret);
    }
  });
});
