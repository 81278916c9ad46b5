/**
 * The nine principals of the authorization matrix, created through the public API of one running
 * platform: anonymous, two users, three API keys (READ, TRADE, persisted-only partner) each owned by
 * its own 2FA-enabled bot owner, and one user per staff role (SUPPORT and COMPLIANCE promoted by the
 * environment's ADMIN, audited).
 */
import { randomUUID } from 'node:crypto';
import { totpCode } from '@graphex/runtime';
import { codeOf, send } from './client.ts';

export const principalNames = [
  'anonymous',
  'userA',
  'userB',
  'readKey',
  'tradeKey',
  'partnerKey',
  'support',
  'compliance',
  'admin',
] as const;
export type PrincipalName = (typeof principalNames)[number];

export interface Principal {
  readonly name: PrincipalName;
  readonly kind: 'anonymous' | 'user' | 'apiKey';
  /** Bearer credential (access token or API key secret); replaced when a case signs it out. */
  token: string | undefined;
  readonly userId: string | null;
  readonly email: string | null;
}

export const password = 'Security-Suite-Pass-9';
export const adminEmail = 'admin@security.test';
export const adminPassword = 'Admin-Security-Pass-9';

async function ok<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<T> {
  const reply = await send(url, { query, variables, token });
  if (reply.errors?.length || !reply.data) throw new Error(`setup failed: ${JSON.stringify(reply.errors)}`);
  return reply.data as T;
}

export async function login(url: string, email: string, pass = password, totp?: string) {
  return send(url, {
    query: `mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id } } }`,
    variables: { i: { email, password: pass, ...(totp ? { totpCode: totp } : {}) } },
  });
}

export async function signIn(url: string, email: string, pass = password): Promise<string> {
  const reply = await login(url, email, pass);
  const token = (reply.data?.['login'] as { accessToken?: string } | undefined)?.accessToken;
  if (!token) throw new Error(`sign-in of ${email} failed: ${JSON.stringify(reply.errors)}`);
  return token;
}

export async function registerUser(url: string, label: string) {
  const email = `${label}-${randomUUID().slice(0, 8)}@security.test`;
  const data = await ok<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    url,
    `mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }`,
    { i: { email, password } },
  );
  return {
    email,
    userId: data.register.user.id,
    token: data.register.accessToken,
    refreshToken: data.register.refreshToken,
  };
}

/** Enrols and confirms TOTP; the code of the *next* step is still usable once (±1 window). */
export async function enableTwoFactor(url: string, token: string): Promise<string> {
  const enrolled = await ok<{ enrollTwoFactor: { secret: string } }>(
    url,
    `mutation { enrollTwoFactor { secret } }`,
    {},
    token,
  );
  const secret = enrolled.enrollTwoFactor.secret;
  await ok(
    url,
    `mutation($c: String!) { confirmTwoFactor(code: $c) { twoFactorEnabled } }`,
    { c: totpCode(secret) },
    token,
  );
  return secret;
}

export async function createKey(
  url: string,
  label: string,
  input: { scopes: string[]; persistedOnly?: boolean; ipAllowlist?: string[] },
) {
  const owner = await registerUser(url, label);
  const secret = await enableTwoFactor(url, owner.token);
  // The step after the one confirmTwoFactor spent (accepted within the ±1 window).
  const reply = await send(url, {
    token: owner.token,
    query: `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id scopes } } }`,
    variables: { i: { name: label, ...input, totpCode: totpCode(secret, Date.now() + 30_000) } },
  });
  const created = reply.data?.['createApiKey'] as { secret: string; apiKey: { id: string } } | undefined;
  if (!created) throw new Error(`createApiKey failed: ${codeOf(reply)} ${JSON.stringify(reply.errors)}`);
  return { owner, totpSecret: secret, keySecret: created.secret, keyId: created.apiKey.id };
}

export async function setupPrincipals(url: string): Promise<Record<PrincipalName, Principal>> {
  const adminToken = await signIn(url, adminEmail, adminPassword);
  const adminId = (await ok<{ me: { id: string } }>(url, `{ me { id } }`, {}, adminToken)).me.id;
  const [userA, userB, support, compliance] = await Promise.all(
    ['user-a', 'user-b', 'support', 'compliance'].map((label) => registerUser(url, label)),
  );
  for (const [user, role] of [
    [support!, 'SUPPORT'],
    [compliance!, 'COMPLIANCE'],
  ] as const) {
    await ok(
      url,
      `mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { role } }`,
      { u: user.userId, r: role },
      adminToken,
    );
  }
  const [read, trade, partner] = await Promise.all([
    createKey(url, 'read-bot', { scopes: ['READ'] }),
    createKey(url, 'trade-bot', { scopes: ['READ', 'TRADE'] }),
    createKey(url, 'partner', { scopes: ['READ'], persistedOnly: true }),
  ]);
  const user = (name: PrincipalName, u: { token: string; userId: string; email: string }): Principal => ({
    name,
    kind: 'user',
    token: u.token,
    userId: u.userId,
    email: u.email,
  });
  const key = (name: PrincipalName, k: Awaited<ReturnType<typeof createKey>>): Principal => ({
    name,
    kind: 'apiKey',
    token: k.keySecret,
    userId: k.owner.userId,
    email: null,
  });
  return {
    anonymous: { name: 'anonymous', kind: 'anonymous', token: undefined, userId: null, email: null },
    userA: user('userA', userA!),
    userB: user('userB', userB!),
    readKey: key('readKey', read),
    tradeKey: key('tradeKey', trade),
    partnerKey: key('partnerKey', partner),
    // Their tokens still say USER: the gateway applies the current role from the session check.
    support: user('support', support!),
    compliance: user('compliance', compliance!),
    admin: { name: 'admin', kind: 'user', token: adminToken, userId: adminId, email: adminEmail },
  };
}
