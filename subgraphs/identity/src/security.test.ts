/**
 * Identity's security features over HTTP, as the gateway and the KYC provider reach them:
 * sign-out everywhere, brute-force lockout, TOTP (with replay), API keys, roles, KYC with its signed
 * webhook, internal endpoints and the audit chain. PGlite by default, PostgreSQL with DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIdentityInternalClient,
  identityInternalPaths,
  totpCode,
  verifyAccessToken,
  type Identity,
  type RunningService,
} from '@graphex/runtime';
import { callSubgraph, openTestDatabase, testConfig, type TestDatabase } from '@graphex/runtime/testing';
import { identityMigrationsDir, kycWebhookPath, signWebhook, startIdentity } from './index.ts';
import { hkdfSync } from 'node:crypto';

const adminEmail = 'root@security.test';
const adminPassword = 'Admin-Password-2026';
const config = testConfig({ EXCHANGE_ADMIN_EMAIL: adminEmail, EXCHANGE_ADMIN_PASSWORD: adminPassword });
const password = 'Correct-Horse-9';
/** The webhook secret identity derives when KYC_WEBHOOK_SECRET is not set. */
const webhookSecret = Buffer.from(
  hkdfSync('sha256', config.internalTokenSecret, 'graphex-identity', 'kyc-webhook', 32),
).toString('base64url');

let testDb: TestDatabase;
let service: RunningService;
let nowMs = Date.UTC(2026, 5, 1, 12, 0, 0);
const advance = (ms: number) => (nowMs += ms);

const internal = () =>
  createIdentityInternalClient({
    identityUrl: service.url,
    internalTokenSecret: config.internalTokenSecret,
    service: 'test',
  });

async function call<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  identity?: Identity,
) {
  return callSubgraph<T>(service.url, query, variables, identity, config);
}

function codeOf(response: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) {
  return response.errors?.[0]?.extensions?.['code'];
}

interface Session {
  id: string;
  identity: Identity;
  accessToken: string;
}

async function sessionOf(accessToken: string, id: string): Promise<Session> {
  const claims = (await verifyAccessToken(accessToken, config.jwtSecret))!;
  return {
    id,
    accessToken,
    identity: { kind: 'user', userId: claims.userId, role: claims.role, sessionId: claims.sessionId },
  };
}

async function register(email: string): Promise<Session> {
  const r = await call<{ register: { accessToken: string; user: { id: string } } }>(
    `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`,
    { i: { email, password } },
  );
  expect(r.errors).toBeUndefined();
  return sessionOf(r.data!.register.accessToken, r.data!.register.user.id);
}

const loginMutation = `mutation($i: LoginInput!) { login(input: $i) { accessToken user { id } } }`;
async function login(email: string, pass = password, totp?: string) {
  return call<{ login: { accessToken: string; user: { id: string } } }>(loginMutation, {
    i: { email, password: pass, ...(totp ? { totpCode: totp } : {}) },
  });
}

/** Enrols and confirms 2FA for a session; returns the secret. */
async function enableTwoFactor(session: Session): Promise<string> {
  const enrolled = await call<{ enrollTwoFactor: { secret: string; provisioningUri: string } }>(
    `mutation { enrollTwoFactor { secret provisioningUri } }`,
    {},
    session.identity,
  );
  expect(enrolled.errors).toBeUndefined();
  const { secret, provisioningUri } = enrolled.data!.enrollTwoFactor;
  expect(provisioningUri).toMatch(/^otpauth:\/\/totp\//);
  const confirmed = await call<{ confirmTwoFactor: { twoFactorEnabled: boolean } }>(
    `mutation($c: String!) { confirmTwoFactor(code: $c) { twoFactorEnabled } }`,
    { c: totpCode(secret, nowMs) },
    session.identity,
  );
  expect(confirmed.data?.confirmTwoFactor.twoFactorEnabled).toBe(true);
  advance(30_000);
  return secret;
}

beforeAll(async () => {
  testDb = await openTestDatabase('identity', identityMigrationsDir);
  service = await startIdentity(config, { port: 0, db: testDb.db, clock: () => new Date(nowMs) });
});

afterAll(async () => {
  await service?.close();
  await testDb?.dispose();
});

describe('sessions', () => {
  it('logoutAll revokes every session of the caller; the gateway sees them inactive', async () => {
    const first = await register('everywhere@security.test');
    const second = await sessionOf(
      (await login('everywhere@security.test')).data!.login.accessToken,
      first.id,
    );
    const client = internal();
    const sid = (s: Session) => (s.identity.kind === 'user' ? s.identity.sessionId! : '');
    expect(await client.sessionStatus(first.id, sid(second))).toEqual({ active: true, role: 'USER' });
    const r = await call<{ logoutAll: number }>(`mutation { logoutAll }`, {}, first.identity);
    expect(r.data?.logoutAll).toBe(2);
    expect(await client.sessionStatus(first.id, sid(first))).toEqual({ active: false, role: 'USER' });
    expect(await client.sessionStatus(first.id, sid(second))).toEqual({ active: false, role: 'USER' });
    // A session id of another user is not theirs.
    const other = await register('other-session@security.test');
    expect((await client.sessionStatus(first.id, sid(other))).active).toBe(false);
    expect(codeOf(await call(`mutation { logoutAll }`))).toBe('UNAUTHENTICATED');
  });

  it('internal endpoints refuse callers without a service token', async () => {
    for (const path of Object.values(identityInternalPaths)) {
      const response = await fetch(new URL(path, service.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status, path).toBe(401);
    }
  });
});

describe('brute-force lockout', () => {
  it('locks an email after 5 failures, for known and unknown emails alike, then lets it in again', async () => {
    await register('victim@security.test');
    for (const email of ['victim@security.test', 'nobody@security.test']) {
      for (let i = 0; i < 5; i++)
        expect(codeOf(await login(email, 'Wrong-Password-1'))).toBe('INVALID_CREDENTIALS');
      const locked = await login(email, password);
      expect(codeOf(locked)).toBe('ACCOUNT_LOCKED');
      const retryAfterMs = locked.errors![0]!.extensions!['retryAfterMs'] as number;
      expect(retryAfterMs).toBeGreaterThan(14 * 60_000);
      expect(retryAfterMs).toBeLessThanOrEqual(15 * 60_000);
    }
    advance(15 * 60_000 + 1);
    expect((await login('victim@security.test')).data?.login.user.id).toBeTruthy();
    expect(codeOf(await login('nobody@security.test'))).toBe('INVALID_CREDENTIALS');
    const audit = await testDb.db.query<{ n: string | number }>(
      "SELECT count(*) AS n FROM audit_log WHERE action = 'ACCOUNT_LOCKED'",
    );
    expect(Number(audit.rows[0]!.n)).toBeGreaterThanOrEqual(2);
  });
});

describe('two-factor authentication', () => {
  it('is required at login once enabled; each code works once; disabling needs a code', async () => {
    const user = await register('totp@security.test');
    const secret = await enableTwoFactor(user);
    expect(codeOf(await login('totp@security.test'))).toBe('TWO_FACTOR_REQUIRED');
    const code = totpCode(secret, nowMs);
    expect((await login('totp@security.test', password, code)).data?.login.user.id).toBe(user.id);
    // Replay of the same code within its window.
    expect(codeOf(await login('totp@security.test', password, code))).toBe('TWO_FACTOR_INVALID');
    // The previous step's code is older than the one used: refused too.
    expect(codeOf(await login('totp@security.test', password, totpCode(secret, nowMs - 30_000)))).toBe(
      'TWO_FACTOR_INVALID',
    );
    advance(30_000);
    expect((await login('totp@security.test', password, totpCode(secret, nowMs))).errors).toBeUndefined();
    // Enrolling again is an illegal transition; API keys cannot manage 2FA.
    expect(codeOf(await call(`mutation { enrollTwoFactor { secret } }`, {}, user.identity))).toBe(
      'INVALID_STATE_TRANSITION',
    );
    advance(30_000);
    const disabled = await call<{ disableTwoFactor: { twoFactorEnabled: boolean } }>(
      `mutation($c: String!) { disableTwoFactor(code: $c) { twoFactorEnabled } }`,
      { c: totpCode(secret, nowMs) },
      user.identity,
    );
    expect(disabled.data?.disableTwoFactor.twoFactorEnabled).toBe(false);
    expect((await login('totp@security.test')).errors).toBeUndefined();
  });

  it('refuses a wrong confirmation code and counts wrong login codes towards the lockout', async () => {
    const user = await register('totp2@security.test');
    await call(`mutation { enrollTwoFactor { secret } }`, {}, user.identity);
    expect(
      codeOf(await call(`mutation { confirmTwoFactor(code: "000000") { id } }`, {}, user.identity)),
    ).toBe('TWO_FACTOR_INVALID');
    const secret = (
      await call<{ enrollTwoFactor: { secret: string } }>(
        `mutation { enrollTwoFactor { secret } }`,
        {},
        user.identity,
      )
    ).data!.enrollTwoFactor.secret;
    await call(
      `mutation($c: String!) { confirmTwoFactor(code: $c) { id } }`,
      { c: totpCode(secret, nowMs) },
      user.identity,
    );
    for (let i = 0; i < 5; i++)
      expect(codeOf(await login('totp2@security.test', password, '000000'))).toBe('TWO_FACTOR_INVALID');
    expect(codeOf(await login('totp2@security.test', password, totpCode(secret, nowMs + 30_000)))).toBe(
      'ACCOUNT_LOCKED',
    );
    advance(15 * 60_000 + 1);
  });

  it('serves withdrawals: the internal endpoint spends codes like login does', async () => {
    const user = await register('withdrawer@security.test');
    const client = internal();
    expect(await client.verifyTwoFactor(user.id, '123456', 'WITHDRAWAL')).toBe('NOT_ENABLED');
    const secret = await enableTwoFactor(user);
    const code = totpCode(secret, nowMs);
    expect(await client.verifyTwoFactor(user.id, code, 'WITHDRAWAL')).toBe('OK');
    expect(await client.verifyTwoFactor(user.id, code, 'WITHDRAWAL')).toBe('INVALID');
    // Guessing is bounded: the 5th wrong code locks this path, even for the right code after it.
    for (let i = 0; i < 4; i++)
      expect(await client.verifyTwoFactor(user.id, '000000', 'WITHDRAWAL')).toBe('INVALID');
    expect(await client.verifyTwoFactor(user.id, totpCode(secret, nowMs + 30_000), 'WITHDRAWAL')).toBe(
      'LOCKED',
    );
    advance(15 * 60_000 + 1);
    expect(await client.verifyTwoFactor(user.id, totpCode(secret, nowMs), 'WITHDRAWAL')).toBe('OK');
    expect(await client.withdrawalPolicy(user.id)).toEqual({
      kycStatus: 'NONE',
      kycTier: 0,
      twoFactorEnabled: true,
      limits: [
        { currency: 'BTC', limit24h: '0' },
        { currency: 'ETH', limit24h: '0' },
        { currency: 'USDT', limit24h: '0' },
      ],
    });
  });
});

const createKey = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) {
  secret apiKey { id name prefix scopes ipAllowlist persistedOnly expiresAt lastUsedAt revokedAt } } }`;

describe('API keys', () => {
  it('need 2FA and a fresh code; the secret is shown once and verifies until revoked', async () => {
    const user = await register('bot-owner@security.test');
    const input = { name: 'bot', scopes: ['TRADE'], ipAllowlist: ['10.0.0.0/8', '::1'], totpCode: '123456' };
    expect(codeOf(await call(createKey, { i: input }, user.identity))).toBe('TWO_FACTOR_REQUIRED');
    const secret = await enableTwoFactor(user);
    expect(codeOf(await call(createKey, { i: input }, user.identity))).toBe('TWO_FACTOR_INVALID');
    const created = await call<{
      createApiKey: { secret: string; apiKey: { id: string; scopes: string[]; ipAllowlist: string[] } };
    }>(createKey, { i: { ...input, totpCode: totpCode(secret, nowMs) } }, user.identity);
    expect(created.errors).toBeUndefined();
    const { secret: keySecret, apiKey } = created.data!.createApiKey;
    expect(keySecret).toMatch(/^gxk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey.scopes).toEqual(['READ', 'TRADE']);
    expect(apiKey.ipAllowlist).toEqual(['10.0.0.0/8', '::1']);
    const stored = await testDb.db.query<{ secret_hash: string }>(
      'SELECT secret_hash FROM api_keys WHERE id = $1',
      [apiKey.id],
    );
    expect(stored.rows[0]!.secret_hash).not.toContain(keySecret.slice(4));

    const client = internal();
    const grant = await client.verifyApiKey(keySecret);
    expect(grant).toMatchObject({
      apiKeyId: apiKey.id,
      userId: user.id,
      role: 'USER',
      scopes: ['READ', 'TRADE'],
    });
    // One character changed (never the same character: that would be the key itself).
    const altered = `${keySecret.slice(0, -1)}${keySecret.endsWith('A') ? 'B' : 'A'}`;
    expect(await client.verifyApiKey(altered)).toBeNull();
    const listed = await call<{ apiKeys: Array<{ id: string; lastUsedAt: string | null }> }>(
      `{ apiKeys { id lastUsedAt } }`,
      {},
      user.identity,
    );
    expect(listed.data?.apiKeys).toEqual([{ id: apiKey.id, lastUsedAt: new Date(nowMs).toISOString() }]);

    // A key cannot mint or list keys, manage 2FA or review KYC.
    const keyIdentity: Identity = {
      kind: 'apiKey',
      userId: user.id,
      role: 'USER',
      apiKeyId: apiKey.id,
      scopes: ['READ', 'TRADE'],
      persistedOnly: false,
    };
    expect(codeOf(await call(`{ apiKeys { id } }`, {}, keyIdentity))).toBe('FORBIDDEN');
    expect(codeOf(await call(`mutation { enrollTwoFactor { secret } }`, {}, keyIdentity))).toBe('FORBIDDEN');

    const other = await register('not-owner@security.test');
    expect(
      codeOf(
        await call(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: apiKey.id }, other.identity),
      ),
    ).toBe('NOT_FOUND');
    const revoked = await call<{ revokeApiKey: { revokedAt: string } }>(
      `mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`,
      { id: apiKey.id },
      user.identity,
    );
    expect(revoked.data?.revokeApiKey.revokedAt).toBeTruthy();
    expect(await client.verifyApiKey(keySecret)).toBeNull();
  });

  it('refuses bad names, scopes, allowlists and expiries, and expired keys stop verifying', async () => {
    const user = await register('key-input@security.test');
    const secret = await enableTwoFactor(user);
    const base = { name: 'k', scopes: ['READ'], totpCode: '000000' };
    for (const [field, input] of [
      ['name', { ...base, name: '' }],
      ['ipAllowlist', { ...base, ipAllowlist: ['10.0.0.0/33'] }],
      ['ipAllowlist', { ...base, ipAllowlist: ['example.com'] }],
      ['expiresAt', { ...base, expiresAt: new Date(nowMs - 1000).toISOString() }],
    ] as const) {
      const r = await call(createKey, { i: input }, user.identity);
      expect(r.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const created = await call<{ createApiKey: { secret: string } }>(
      createKey,
      {
        i: { ...base, expiresAt: new Date(nowMs + 60_000).toISOString(), totpCode: totpCode(secret, nowMs) },
      },
      user.identity,
    );
    const client = internal();
    expect(await client.verifyApiKey(created.data!.createApiKey.secret)).not.toBeNull();
    advance(61_000);
    expect(await client.verifyApiKey(created.data!.createApiKey.secret)).toBeNull();
  });
});

async function adminSession(): Promise<Session> {
  const r = await login(adminEmail, adminPassword);
  return sessionOf(r.data!.login.accessToken, r.data!.login.user.id);
}

describe('roles', () => {
  it('ADMIN sets roles (audited); others, API keys and self-changes are refused', async () => {
    const admin = await adminSession();
    const user = await register('promote-me@security.test');
    const set = `mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { id role } }`;
    expect(codeOf(await call(set, { u: user.id, r: 'ADMIN' }, user.identity))).toBe('FORBIDDEN');
    expect(codeOf(await call(set, { u: admin.id, r: 'USER' }, admin.identity))).toBe('FORBIDDEN');
    const adminKey: Identity = {
      kind: 'apiKey',
      userId: admin.id,
      role: 'ADMIN',
      apiKeyId: 'k',
      scopes: ['READ'],
      persistedOnly: false,
    };
    expect(codeOf(await call(set, { u: user.id, r: 'SUPPORT' }, adminKey))).toBe('FORBIDDEN');
    const changed = await call<{ setUserRole: { role: string } }>(
      set,
      { u: user.id, r: 'COMPLIANCE' },
      admin.identity,
    );
    expect(changed.data?.setUserRole.role).toBe('COMPLIANCE');
    // The gateway learns the new role from the session status, before the token expires.
    expect(
      (await internal().sessionStatus(user.id, (user.identity as { sessionId: string }).sessionId)).role,
    ).toBe('COMPLIANCE');
    const log = await call<{
      auditLog: Array<{ action: string; actor: string; details: Array<{ key: string; value: string }> }>;
    }>(
      `query($u: ID) { auditLog(userId: $u) { action actor details { key value } } }`,
      { u: user.id },
      admin.identity,
    );
    expect(log.data?.auditLog.at(-1)).toMatchObject({ action: 'ROLE_CHANGED', actor: admin.id });
    expect(log.data?.auditLog.at(-1)?.details).toContainEqual({ key: 'to', value: 'COMPLIANCE' });
    expect(codeOf(await call(`{ auditLog { id } }`, {}, user.identity))).toBe('FORBIDDEN');
  });
});

const submit = `mutation($i: KycInput!) { submitKyc(input: $i) { kycStatus kycTier } }`;
const doc = (kind: string, n: number) => ({
  kind,
  sha256: n.toString(16).padStart(64, 'a'),
  sizeBytes: 1000 + n,
  contentType: 'image/jpeg',
});
const kycInput = (overrides: Record<string, unknown> = {}) => ({
  firstName: 'Ada',
  lastName: 'Lovelace',
  dateOfBirth: '1990-12-10',
  country: 'GB',
  documents: [doc('PASSPORT', 1), doc('SELFIE', 2)],
  ...overrides,
});

async function me(session: Session) {
  return (
    await call<{
      me: {
        kycStatus: string;
        kycTier: number;
        withdrawalLimits: Array<{ currency: string; limit24h: string }>;
      };
    }>(`{ me { kycStatus kycTier withdrawalLimits { currency limit24h } } }`, {}, session.identity)
  ).data!.me;
}

async function waitForKyc(session: Session, status: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await me(session)).kycStatus !== status) {
    if (Date.now() > deadline) throw new Error(`KYC never reached ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('KYC', () => {
  it('NONE → PENDING → APPROVED by the local provider over the signed webhook; tier 1 limits', async () => {
    const user = await register('kyc-ok@security.test');
    const submitted = await call<{ submitKyc: { kycStatus: string } }>(
      submit,
      { i: kycInput() },
      user.identity,
    );
    expect(submitted.data?.submitKyc.kycStatus).toBe('PENDING');
    await waitForKyc(user, 'APPROVED');
    const after = await me(user);
    expect(after.kycTier).toBe(1);
    expect(after.withdrawalLimits).toContainEqual({ currency: 'BTC', limit24h: '2' });
    expect(codeOf(await call(submit, { i: kycInput() }, user.identity))).toBe('INVALID_STATE_TRANSITION');
  });

  it('REJECTED allows resubmission; REVIEW waits for a compliance officer', async () => {
    const user = await register('kyc-young@security.test');
    await call(submit, { i: kycInput({ dateOfBirth: '2015-01-01' }) }, user.identity);
    await waitForKyc(user, 'REJECTED');
    await call(submit, { i: kycInput({ country: 'RU' }) }, user.identity);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await me(user)).kycStatus).toBe('PENDING');

    const admin = await adminSession();
    const officer = await register('officer@security.test');
    await call(
      `mutation($u: ID!) { setUserRole(userId: $u, role: COMPLIANCE) { id } }`,
      { u: officer.id },
      admin.identity,
    );
    const officerSession: Session = {
      ...officer,
      identity: { ...(officer.identity as Extract<Identity, { kind: 'user' }>), role: 'COMPLIANCE' },
    };
    const list = `query { kycCases(status: PENDING) { id status country user { id email } documents { kind sha256 } } }`;
    expect(codeOf(await call(list, {}, user.identity))).toBe('FORBIDDEN');
    const cases = await call<{ kycCases: Array<{ id: string; user: { id: string; email: string } }> }>(
      list,
      {},
      officerSession.identity,
    );
    const kycCase = cases.data!.kycCases.find((c) => c.user.id === user.id)!;
    expect(kycCase.user.email).toBe('kyc-young@security.test');
    const review = `mutation($c: ID!, $d: KycDecision!, $t: Int) { reviewKyc(caseId: $c, decision: $d, reason: "documents verified by hand", tier: $t) { status tier decidedBy } }`;
    expect(codeOf(await call(review, { c: kycCase.id, d: 'APPROVE', t: 2 }, user.identity))).toBe(
      'FORBIDDEN',
    );
    const approved = await call<{ reviewKyc: { status: string; tier: number; decidedBy: string } }>(
      review,
      { c: kycCase.id, d: 'APPROVE', t: 2 },
      officerSession.identity,
    );
    expect(approved.data?.reviewKyc).toEqual({ status: 'APPROVED', tier: 2, decidedBy: officer.id });
    expect((await me(user)).kycTier).toBe(2);
    expect(codeOf(await call(review, { c: kycCase.id, d: 'REJECT' }, officerSession.identity))).toBe(
      'INVALID_STATE_TRANSITION',
    );
    const transitions = await testDb.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE target_user_id = $1 AND action LIKE 'KYC_%' ORDER BY id",
      [user.id],
    );
    expect(transitions.rows.map((r) => r.action)).toEqual([
      'KYC_SUBMITTED',
      'KYC_REJECTED',
      'KYC_SUBMITTED',
      'KYC_APPROVED',
    ]);
  });

  it('refuses bad submissions without changing anything', async () => {
    const user = await register('kyc-bad@security.test');
    for (const [field, input] of [
      ['documents.0.sha256', kycInput({ documents: [{ ...doc('PASSPORT', 1), sha256: 'xyz' }] })],
      [
        'documents.0.sizeBytes',
        kycInput({ documents: [{ ...doc('PASSPORT', 1), sizeBytes: 11 * 1024 * 1024 }] }),
      ],
      [
        'documents.0.contentType',
        kycInput({ documents: [{ ...doc('PASSPORT', 1), contentType: 'text/html' }] }),
      ],
      ['documents', kycInput({ documents: [] })],
      ['dateOfBirth', kycInput({ dateOfBirth: '1990-02-30' })],
      ['country', kycInput({ country: 'Britain' })],
    ] as const) {
      const r = await call(submit, { i: input }, user.identity);
      expect(r.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await me(user)).kycStatus).toBe('NONE');
  });

  it('the webhook refuses forged, stale and replayed callbacks', async () => {
    const user = await register('kyc-hook@security.test');
    // A manual-review case stays PENDING, so only a callback could decide it.
    await call(submit, { i: kycInput({ country: 'BY' }) }, user.identity);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const caseId = (
      await testDb.db.query<{ id: string }>('SELECT id FROM kyc_cases WHERE user_id = $1', [user.id])
    ).rows[0]!.id;
    const url = new URL(kycWebhookPath, service.url);
    const body = JSON.stringify({ caseId, decision: 'APPROVE', reason: 'forged', tier: 1 });
    const post = (headers: Record<string, string>, text = body) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });
    expect((await post({})).status).toBe(401);
    expect((await post(signWebhook('x'.repeat(43), body, nowMs))).status).toBe(401);
    const signed = signWebhook(webhookSecret, body, nowMs);
    // Edited body under a valid signature.
    expect((await post(signed, body.replace('APPROVE', 'REJECT'))).status).toBe(401);
    expect((await post(signWebhook(webhookSecret, body, nowMs - 10 * 60_000))).status).toBe(401);
    expect((await me(user)).kycStatus).toBe('PENDING');
    expect((await post(signed)).status).toBe(200);
    expect((await me(user)).kycStatus).toBe('APPROVED');
    const replay = await post(signed);
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ code: 'KYC_WEBHOOK_REPLAYED' });
  });
});

describe('audit chain', () => {
  it('verifies, and names the first tampered record', async () => {
    const { createAdminService } = await import('./admin-service.ts');
    const { createAuditor } = await import('./audit.ts');
    const { createLogger } = await import('@graphex/runtime');
    const admin = createAdminService({
      db: testDb.db,
      audit: createAuditor(createLogger('t', 'silent'), () => new Date()),
    });
    const check = await admin.verifyAudit();
    expect(check).toMatchObject({ ok: true });
    const victim = await testDb.db.query<{ id: string }>(
      "SELECT id::text AS id FROM audit_log WHERE action = 'ROLE_CHANGED' LIMIT 1",
    );
    await testDb.db.query(`UPDATE audit_log SET details = '{"from":"USER","to":"ADMIN"}' WHERE id = $1`, [
      victim.rows[0]!.id,
    ]);
    expect(await admin.verifyAudit()).toMatchObject({
      ok: false,
      firstBadId: victim.rows[0]!.id,
      problem: 'HASH_MISMATCH',
    });
  });
});
