/**
 * Issue 5's security suite on ONE running platform (real processes, tests/harness): the
 * authorization matrix over every root field × nine principals, then the attacks — forged tokens,
 * revoked sessions, refresh-token reuse, TOTP replay, brute-force lockout, sign-in rate limit,
 * webhook forgery and replay, direct subgraph access, API-key IP allowlist and revocation, query
 * limits, APQ and trusted documents.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootFieldPolicy } from '@graphex/gateway';
import { signWebhook } from '@graphex/identity';
import {
  identityInternalPaths,
  internalIdentityHeader,
  loadConfig,
  signAccessToken,
  signInternalIdentity,
  totpCode,
} from '@graphex/runtime';
import { repoRoot, startPlatform, type Platform } from '../harness/index.ts';
import { authorizationMatrix, type Outcome } from './authorization-matrix.ts';
import { codeOf, randomIp, send, type GatewayReply } from './client.ts';
import {
  adminEmail,
  adminPassword,
  createKey,
  enableTwoFactor,
  login,
  password,
  principalNames,
  registerUser,
  setupPrincipals,
  signIn,
  type Principal,
  type PrincipalName,
} from './principals.ts';

const kycWebhookSecret = 'security-suite-kyc-webhook-secret-0123456789';
const devSecrets = loadConfig({ NODE_ENV: 'test' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** GATEWAY_SESSION_CACHE_MS / GATEWAY_API_KEY_CACHE_MS of this platform, plus slack. */
const cacheBoundMs = 250;

let platform: Platform;
let url: string;
let principals: Record<PrincipalName, Principal>;

beforeAll(async () => {
  platform = await startPlatform({
    env: {
      EXCHANGE_ADMIN_EMAIL: adminEmail,
      EXCHANGE_ADMIN_PASSWORD: adminPassword,
      GATEWAY_TRUST_PROXY_HOPS: '1',
      GATEWAY_SESSION_CACHE_MS: '100',
      GATEWAY_API_KEY_CACHE_MS: '100',
      GATEWAY_SIGNIN_LIMIT_PER_IP: '10',
      KYC_WEBHOOK_SECRET: kycWebhookSecret,
    },
  });
  url = platform.gatewayUrl;
  principals = await setupPrincipals(url);
}, 240_000);

afterAll(async () => {
  await platform?.stop();
});

function outcomeOf(reply: GatewayReply, field: string): Outcome {
  const code = codeOf(reply);
  if (typeof code === 'string') return code;
  const name = field.slice(field.indexOf('.') + 1);
  const value = reply.data?.[name];
  return value === null || value === undefined ? 'null' : 'ok';
}

function matches(expected: Outcome, actual: Outcome): boolean {
  if (expected === 'allowed')
    return !['UNAUTHENTICATED', 'FORBIDDEN', 'PERSISTED_QUERY_REQUIRED'].includes(actual);
  return expected === actual;
}

describe('authorization matrix', () => {
  const apiSchema = buildSchema(readFileSync(path.join(repoRoot, 'schema/api.graphql'), 'utf8'));
  const rootFields = [
    apiSchema.getQueryType(),
    apiSchema.getMutationType(),
    apiSchema.getSubscriptionType(),
  ].flatMap((type) => (type ? Object.keys(type.getFields()).map((field) => `${type.name}.${field}`) : []));

  it('declares a row for every root field of the composed schema, agreeing with the gateway table', () => {
    expect(rootFields.filter((field) => !authorizationMatrix[field])).toEqual([]);
    for (const field of rootFields)
      expect(authorizationMatrix[field]!.apiKey, field).toBe(rootFieldPolicy[field]);
  });

  it('gives every principal the declared outcome on every query and mutation', async () => {
    const mismatches: string[] = [];
    for (const field of rootFields) {
      const row = authorizationMatrix[field];
      if (!row || row.ruleOnly) continue;
      for (const name of principalNames) {
        const principal = principals[name];
        let token = principal.token;
        if (row.endsSessions && principal.kind === 'user')
          token = await signIn(url, principal.email!, name === 'admin' ? adminPassword : password);
        const reply = await send(url, {
          query: row.document,
          variables: row.variables?.({ principals }) ?? {},
          token,
        });
        const actual = outcomeOf(reply, field);
        if (!matches(row.expect[name], actual))
          mismatches.push(
            `${field} as ${name}: expected ${row.expect[name]}, got ${actual} ${reply.errors?.[0]?.message ?? ''}`,
          );
        if (row.endsSessions && principal.kind === 'user') {
          // logoutAll also ended the principal's own session: sign it in again for what follows.
          principal.token = await signIn(url, principal.email!, name === 'admin' ? adminPassword : password);
        }
      }
    }
    expect(mismatches).toEqual([]);
  }, 120_000);

  it('applies a role change to tokens issued before it (no wait for expiry)', async () => {
    // The support principal's token was issued while it was USER.
    expect(codeOf(await send(url, { query: '{ kycCases { id } }', token: principals.support.token }))).toBe(
      'FORBIDDEN',
    );
    expect(
      (await send(url, { query: '{ kycCases { id } }', token: principals.compliance.token })).errors,
    ).toBeUndefined();
  });
});

describe('forged and revoked credentials', () => {
  async function claims() {
    const user = await registerUser(url, 'forge');
    const [, payload] = user.token.split('.');
    return {
      user,
      payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>,
    };
  }
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('refuses alg=none, a wrong key, edited claims, expired tokens and unknown sessions with 401', async () => {
    const { user, payload } = await claims();
    const [header, , signature] = user.token.split('.');
    const forged = [
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...payload, role: 'ADMIN' })}.`,
      await signAccessToken(
        { userId: user.userId, role: 'ADMIN', sessionId: String(payload['sid']) },
        'x'.repeat(48),
        60,
      ),
      `${header}.${b64({ ...payload, role: 'ADMIN' })}.${signature}`,
      `${header}.${b64({ ...payload, sub: principals.admin.userId })}.${signature}`,
      await signAccessToken(
        { userId: user.userId, role: 'USER', sessionId: String(payload['sid']) },
        devSecrets.jwtSecret,
        -10,
      ),
      // Correctly signed, but no such session: the gateway's session check refuses it.
      await signAccessToken(
        { userId: user.userId, role: 'ADMIN', sessionId: randomUUID() },
        devSecrets.jwtSecret,
        60,
      ),
      // An internal identity token is not an access token.
      await signInternalIdentity(
        { kind: 'user', userId: user.userId, role: 'ADMIN', sessionId: null },
        devSecrets.internalTokenSecret,
        60,
      ),
    ];
    for (const [index, token] of forged.entries()) {
      const reply = await send(url, { query: '{ me { id role } }', token });
      expect(reply.status, `forgery ${index}`).toBe(401);
      expect(codeOf(reply), `forgery ${index}`).toBe('UNAUTHENTICATED');
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await send(url, { query: '{ me { id } }', token: user.token })).data?.['me']).toEqual({
      id: user.userId,
    });
  });

  it('stops an access token once its session logged out', async () => {
    const user = await registerUser(url, 'logout');
    expect((await send(url, { query: '{ me { id } }', token: user.token })).errors).toBeUndefined();
    expect((await send(url, { query: 'mutation { logout }', token: user.token })).data).toEqual({
      logout: true,
    });
    await sleep(cacheBoundMs);
    expect(codeOf(await send(url, { query: '{ me { id } }', token: user.token }))).toBe('UNAUTHENTICATED');
  });

  it('revokes the whole family on refresh-token reuse, including live access tokens', async () => {
    const user = await registerUser(url, 'refresh');
    const refresh = (token: string) =>
      send(url, {
        query: 'mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }',
        variables: { t: token },
      });
    const rotated = (await refresh(user.refreshToken)).data?.['refreshSession'] as {
      accessToken: string;
      refreshToken: string;
    };
    expect(rotated.refreshToken).not.toBe(user.refreshToken);
    expect(codeOf(await refresh(user.refreshToken))).toBe('UNAUTHENTICATED');
    expect(codeOf(await refresh(rotated.refreshToken))).toBe('UNAUTHENTICATED');
    await sleep(cacheBoundMs);
    for (const token of [user.token, rotated.accessToken])
      expect(codeOf(await send(url, { query: '{ me { id } }', token }))).toBe('UNAUTHENTICATED');
  });

  it('logoutAll ends every session of the user', async () => {
    const user = await registerUser(url, 'everywhere');
    const second = await signIn(url, user.email);
    expect((await send(url, { query: 'mutation { logoutAll }', token: second })).data).toEqual({
      logoutAll: 2,
    });
    await sleep(cacheBoundMs);
    expect(codeOf(await send(url, { query: '{ me { id } }', token: user.token }))).toBe('UNAUTHENTICATED');
  });
});

describe('sign-in defences', () => {
  it('refuses a replayed TOTP code within its window', async () => {
    const user = await registerUser(url, 'totp');
    const secret = await enableTwoFactor(url, user.token);
    expect(codeOf(await login(url, user.email))).toBe('TWO_FACTOR_REQUIRED');
    const code = totpCode(secret, Date.now() + 30_000);
    expect((await login(url, user.email, password, code)).errors).toBeUndefined();
    expect(codeOf(await login(url, user.email, password, code))).toBe('TWO_FACTOR_INVALID');
  });

  it('locks an email after repeated failures, known or unknown, with the same answers', async () => {
    const user = await registerUser(url, 'brute');
    const unknown = `ghost-${randomUUID().slice(0, 8)}@security.test`;
    for (const email of [user.email, unknown]) {
      const answers: unknown[] = [];
      for (let i = 0; i < 5; i++) answers.push(codeOf(await login(url, email, 'Not-The-Password-1')));
      expect(answers).toEqual(Array(5).fill('INVALID_CREDENTIALS'));
      const locked = await login(url, email, password);
      expect(codeOf(locked)).toBe('ACCOUNT_LOCKED');
      expect(locked.errors![0]!.extensions!['retryAfterMs']).toBeGreaterThan(60_000);
    }
  });

  it('limits sign-in attempts per client address: RATE_LIMITED, 429 and Retry-After', async () => {
    const ip = randomIp();
    const replies: GatewayReply[] = [];
    for (let i = 0; i < 11; i++) {
      replies.push(
        await send(url, {
          ip,
          query: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }',
          variables: { i: { email: `spray-${i}@security.test`, password: 'Spray-Pass-123' } },
        }),
      );
    }
    expect(replies.slice(0, 10).map(codeOf)).toEqual(Array(10).fill('INVALID_CREDENTIALS'));
    const limited = replies[10]!;
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.errors![0]!.extensions!['retryAfterMs']).toBeGreaterThan(0);
    // Other addresses and ordinary queries are unaffected.
    expect((await send(url, { ip, query: '{ markets { symbol } }' })).errors).toBeUndefined();
  });
});

describe('KYC webhook', () => {
  it('refuses unsigned, forged and replayed provider callbacks', async () => {
    const user = await registerUser(url, 'kyc');
    const doc = (kind: string, n: string) => ({
      kind,
      sha256: n.repeat(64),
      sizeBytes: 2048,
      contentType: 'image/png',
    });
    const submitted = await send(url, {
      token: user.token,
      query: 'mutation($i: KycInput!) { submitKyc(input: $i) { kycStatus } }',
      variables: {
        i: {
          firstName: 'Webhook',
          lastName: 'Test',
          dateOfBirth: '1980-05-05',
          country: 'BY',
          documents: [doc('PASSPORT', 'a'), doc('SELFIE', 'b')],
        },
      },
    });
    expect(submitted.data).toEqual({ submitKyc: { kycStatus: 'PENDING' } });
    const cases = await send(url, {
      token: principals.compliance.token,
      query: 'query($u: ID) { kycCases(status: PENDING, userId: $u) { id } }',
      variables: { u: user.userId },
    });
    const caseId = (cases.data?.['kycCases'] as Array<{ id: string }>)[0]!.id;
    const hook = new URL('/webhooks/kyc', platform.urls.identity);
    const body = JSON.stringify({ caseId, decision: 'APPROVE', reason: 'callback', tier: 1 });
    const post = (headers: Record<string, string>, text = body) =>
      fetch(hook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: text,
      });
    expect((await post({})).status).toBe(401);
    expect(
      (await post(signWebhook('forged-secret-forged-secret-forged-secret', body, Date.now()))).status,
    ).toBe(401);
    const signed = signWebhook(kycWebhookSecret, body, Date.now());
    expect((await post(signed, body.replace('"tier":1', '"tier":2'))).status).toBe(401);
    expect((await post(signed)).status).toBe(200);
    expect((await post(signed)).status).toBe(409);
    const me = await send(url, { token: user.token, query: '{ me { kycStatus kycTier } }' });
    expect(me.data).toEqual({ me: { kycStatus: 'APPROVED', kycTier: 1 } });
  });
});

describe('zero trust behind the gateway', () => {
  it('subgraphs answer UNAUTHENTICATED to direct and forged callers; identity internals need a service token', async () => {
    const forgedAdmin = await signInternalIdentity(
      { kind: 'user', userId: principals.admin.userId!, role: 'ADMIN', sessionId: null },
      'forged-internal-secret-forged-internal-secret',
      60,
    );
    for (const name of ['identity', 'ledger', 'orders', 'market-data', 'wallets'] as const) {
      for (const headers of [{}, { [internalIdentityHeader]: forgedAdmin }] as Array<
        Record<string, string>
      >) {
        const response = await fetch(platform.urls[name], {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
        expect(body.errors?.[0]?.extensions?.code, name).toBe('UNAUTHENTICATED');
      }
    }
    for (const internalPath of Object.values(identityInternalPaths)) {
      const response = await fetch(new URL(internalPath, platform.urls.identity), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphex-service': principals.admin.token! },
        body: JSON.stringify({ secret: principals.readKey.token }),
      });
      expect(response.status, internalPath).toBe(401);
    }
  });
});

describe('API keys at the edge', () => {
  it('holds a key to its IP allowlist and stops it soon after revocation', async () => {
    const key = await createKey(url, 'allowlisted', { scopes: ['READ'], ipAllowlist: ['10.77.0.0/16'] });
    expect((await send(url, { token: key.keySecret, ip: '10.77.1.2', query: '{ me { id } }' })).data).toEqual(
      {
        me: { id: key.owner.userId },
      },
    );
    const outside = await send(url, { token: key.keySecret, ip: '10.78.0.1', query: '{ me { id } }' });
    expect(codeOf(outside)).toBe('FORBIDDEN');
    expect(outside.status).toBe(403);
    const revoked = await send(url, {
      token: key.owner.token,
      query: 'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
      variables: { id: key.keyId },
    });
    expect(revoked.errors).toBeUndefined();
    await sleep(cacheBoundMs);
    expect(codeOf(await send(url, { token: key.keySecret, ip: '10.77.1.2', query: '{ me { id } }' }))).toBe(
      'UNAUTHENTICATED',
    );
    const listed = await send(url, {
      token: key.owner.token,
      query: '{ apiKeys { id lastUsedAt revokedAt } }',
    });
    expect((listed.data?.['apiKeys'] as Array<{ lastUsedAt: string | null }>)[0]!.lastUsedAt).not.toBeNull();
  });
});

describe('query limits', () => {
  it('refuses deep, aliased, costly and over-long documents with QUERY_TOO_COMPLEX before planning', async () => {
    const nested = (levels: number) => {
      let selection = 'id';
      for (let i = 0; i < levels; i++)
        selection = `orders(first: 1) { edges { node { user { ${selection} } } } }`;
      return `{ me { ${selection} } }`;
    };
    const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `m${i}: markets { symbol }`).join(' ')} }`;
    const tokens = `{ markets { ${Array(2_100).fill('symbol').join(' ')} } }`;
    const costly =
      '{ me { orders(first: 200) { edges { node { user { orders(first: 200) { edges { node { id } } } } } } } } }';
    for (const query of [nested(3), aliases, tokens, costly]) {
      const reply = await send(url, { token: principals.userA.token, query });
      expect(codeOf(reply), query.slice(0, 60)).toBe('QUERY_TOO_COMPLEX');
      expect(reply.status).toBe(400);
    }
  });

  it('keeps introspection on outside production', async () => {
    expect((await send(url, { query: '{ __schema { queryType { name } } }' })).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
  });
});

describe('persisted queries', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const manifest = JSON.parse(
    readFileSync(path.join(repoRoot, 'schema/persisted-operations.json'), 'utf8'),
  ) as Record<string, string>;
  const marketsHash = Object.entries(manifest)
    .find(([, document]) => document.startsWith('query Markets'))![0]
    .replace('sha256:', '');
  const apq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

  it('APQ: a miss is PERSISTED_QUERY_NOT_FOUND; after registration GET by hash works', async () => {
    const query = `{ assets { symbol decimals } } # ${randomUUID()}`;
    const hash = sha256(query);
    expect(codeOf(await send(url, { extensions: apq(hash) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await send(url, { query, extensions: apq(hash) })).errors).toBeUndefined();
    const byGet = await send(url, { method: 'GET', extensions: apq(hash) });
    expect(byGet.status).toBe(200);
    expect((byGet.data?.['assets'] as unknown[]).length).toBe(3);
    // A hash that does not match the text is refused.
    expect((await send(url, { query, extensions: apq('0'.repeat(64)) })).status).toBe(400);
  });

  it('trusted documents run by hash without registration; persisted-only keys run nothing else', async () => {
    const partner = principals.partnerKey.token;
    const byHash = await send(url, { method: 'GET', token: partner, extensions: apq(marketsHash) });
    expect(byHash.errors).toBeUndefined();
    expect((byHash.data?.['markets'] as unknown[]).length).toBe(3);
    // The manifest text itself is fine too: what runs is what counts.
    expect(
      (await send(url, { token: partner, query: manifest[`sha256:${marketsHash}`] })).errors,
    ).toBeUndefined();
    const adHoc = await send(url, { token: partner, query: '{ markets { symbol } }' });
    expect(codeOf(adHoc)).toBe('PERSISTED_QUERY_REQUIRED');
    // Registering an ad-hoc document does not make it trusted.
    const query = `{ markets { symbol } } # ${randomUUID()}`;
    expect(codeOf(await send(url, { token: partner, query, extensions: apq(sha256(query)) }))).toBe(
      'PERSISTED_QUERY_REQUIRED',
    );
    expect(codeOf(await send(url, { token: partner, extensions: apq(sha256(query)) }))).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });
});

describe('graphql-ws connections', () => {
  /** Resolves with 'connected' or the close code of a connection_init with `token`. */
  async function connect(token: string | undefined): Promise<'connected' | number> {
    const { createClient } = await import('graphql-ws');
    const { default: WebSocket } = await import('ws');
    return new Promise((resolve) => {
      const client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        on: {
          connected: () => {
            resolve('connected');
            void client.dispose();
          },
          closed: (event) => resolve((event as { code: number }).code),
        },
        onNonLazyError: () => undefined,
      });
    });
  }

  it('authenticates sockets like HTTP: keys and users connect, forged tokens and partner keys do not', async () => {
    expect(await connect(principals.readKey.token)).toBe('connected');
    expect(await connect(principals.userA.token)).toBe('connected');
    expect(await connect(undefined)).toBe('connected');
    const token = principals.userA.token!;
    const at = token.length - 10;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expect(await connect(tampered)).toBe(4401);
    expect(await connect(principals.partnerKey.token)).toBe(4403);
  });
});
