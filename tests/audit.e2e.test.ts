/**
 * Issue 6 (audit log) end to end, on the real processes: sign-ins (failed and successful), 2FA and
 * an order placed and cancelled through the gateway all land in the one hash-chained audit log,
 * which COMPLIANCE/ADMIN read through `auditLog` with each entry's source; `npm run audit:verify`
 * (the CLI, as a child process) passes on the running platform, and once one audit row is edited
 * it exits 1 naming that row — on PostgreSQL (DATABASE_URL) by an UPDATE in identity's schema, on
 * the embedded default by editing identity's PGlite files with the platform stopped.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase, totpCode } from '@graphex/runtime';
import { gql, gqlOk, startPlatform, type Platform } from './harness/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const adminEmail = 'admin@audit.test';
const adminPassword = 'Admin-audit-2026';
const alicePassword = 'audit-pass-2026';

let platform: Platform;
let url: string;
let stopped = false;
const tokens = { admin: '', alice: '' };
let aliceId = '';

interface AuditRow {
  id: string;
  source: string;
  sourceKey: string;
  action: string;
  actor: string;
  targetUserId: string | null;
  details: Array<{ key: string; value: string }>;
}
const auditQuery = /* GraphQL */ `
  query Audit($userId: ID, $source: String, $action: String, $after: ID) {
    auditLog(userId: $userId, source: $source, action: $action, after: $after, first: 200) {
      id
      source
      sourceKey
      action
      actor
      targetUserId
      details {
        key
        value
      }
    }
  }
`;

async function auditLog(filter: Record<string, string>, token = tokens.admin): Promise<AuditRow[]> {
  return (await gqlOk<{ auditLog: AuditRow[] }>(url, auditQuery, filter, token)).auditLog;
}

/** Polls until `check` passes (the orders outbox reaches identity within a relay interval). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => void, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    try {
      check(value);
      return value;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Runs `npm run audit:verify` as a child process; never throws on a non-zero exit. */
function auditVerify(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'scripts/audit-verify.ts'), ...args],
      { cwd: repoRoot, env },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 99) : 0;
        resolve({ code, stdout: stdout + stderr });
      },
    );
  });
}

beforeAll(async () => {
  platform = await startPlatform({
    env: { EXCHANGE_ADMIN_EMAIL: adminEmail, EXCHANGE_ADMIN_PASSWORD: adminPassword },
  });
  url = platform.gatewayUrl;
  tokens.admin = (
    await gqlOk<{ login: { accessToken: string } }>(
      url,
      `mutation ($i: LoginInput!) { login(input: $i) { accessToken } }`,
      { i: { email: adminEmail, password: adminPassword } },
    )
  ).login.accessToken;
}, 240_000);

afterAll(async () => {
  if (!stopped) await platform?.stop();
});

describe('audit log', () => {
  it('records sign-ins, 2FA and orders from every service in one chain that compliance reads', async () => {
    const registered = await gqlOk<{ register: { user: { id: string } } }>(
      url,
      `mutation ($i: RegisterInput!) { register(input: $i) { user { id } } }`,
      { i: { email: 'alice@audit.test', password: alicePassword } },
    );
    aliceId = registered.register.user.id;
    const login = (password: string) =>
      gql<{ login: { accessToken: string } }>(
        url,
        `mutation ($i: LoginInput!) { login(input: $i) { accessToken } }`,
        { i: { email: 'alice@audit.test', password } },
      );
    expect((await login('not-her-password-1')).errors?.[0]?.extensions?.['code']).toBe('INVALID_CREDENTIALS');
    tokens.alice = (await login(alicePassword)).data!.login.accessToken;

    const enrolled = await gqlOk<{ enrollTwoFactor: { secret: string } }>(
      url,
      `mutation { enrollTwoFactor { secret } }`,
      {},
      tokens.alice,
    );
    await gqlOk(
      url,
      `mutation ($c: String!) { confirmTwoFactor(code: $c) { twoFactorEnabled } }`,
      { c: totpCode(enrolled.enrollTwoFactor.secret) },
      tokens.alice,
    );

    await gqlOk(
      url,
      `mutation ($u: ID!) { adminAdjustBalance(userId: $u, currency: "USDT", amount: "1000", reason: "audit e2e") { available } }`,
      { u: aliceId },
      tokens.admin,
    );
    const placed = await gqlOk<{ placeOrder: { id: string; status: string } }>(
      url,
      `mutation ($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }`,
      {
        i: {
          symbol: 'BTC-USDT',
          side: 'BUY',
          type: 'LIMIT',
          price: '20000.5',
          quantity: '0.01',
          clientOrderId: 'audit-1',
        },
      },
      tokens.alice,
    );
    expect(placed.placeOrder.status).toBe('OPEN');
    const orderId = placed.placeOrder.id;
    await gqlOk(
      url,
      `mutation ($id: ID!) { cancelOrder(id: $id) { status } }`,
      { id: orderId },
      tokens.alice,
    );

    // Identity's own entries about alice, in order.
    const aboutAlice = await auditLog({ userId: aliceId, source: 'identity' });
    expect(aboutAlice.map((e) => [e.action, e.actor])).toEqual([
      ['USER_REGISTERED', aliceId],
      ['LOGIN_FAILED', 'anonymous'],
      ['LOGIN_SUCCEEDED', aliceId],
      ['TWO_FACTOR_ENABLED', aliceId],
    ]);
    // The admin's sign-in is there too.
    const adminLogins = await auditLog({ action: 'LOGIN_SUCCEEDED' });
    expect(adminLogins.some((e) => e.actor !== aliceId)).toBe(true);

    // Orders ships its entries through its outbox: they arrive within a relay interval.
    const orders = await eventually(
      () => auditLog({ userId: aliceId, source: 'orders' }),
      (rows) => expect(rows.map((e) => e.action)).toEqual(['ORDER_PLACED', 'ORDER_CANCELLED']),
    );
    expect(orders.map((e) => e.sourceKey)).toEqual([`order:${orderId}:ACCEPTED`, `order:${orderId}:DONE`]);
    const details = Object.fromEntries(orders[0]!.details.map((d) => [d.key, d.value]));
    expect(details).toMatchObject({
      orderId,
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '20000.5',
      quantity: '0.01',
      clientOrderId: 'audit-1',
      outcome: 'OPEN',
    });

    // A user cannot read the log.
    const refused = await gql(url, auditQuery, {}, tokens.alice);
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('audit:verify passes on the running platform and names the one edited row', async () => {
    const online = await auditVerify(['--identity-url', platform.urls.identity], platform.env);
    expect(online.stdout).toMatch(/^audit:verify ok entries=\d+ head=[0-9a-f]{64}$/m);
    expect(online.code).toBe(0);

    const [victim] = await auditLog({ userId: aliceId, source: 'orders', action: 'ORDER_PLACED' });
    expect(victim).toBeDefined();
    const tampered = JSON.stringify({
      ...Object.fromEntries(victim!.details.map((d) => [d.key, d.value])),
      quantity: '10',
    });
    const databaseUrl = platform.env['DATABASE_URL'];
    const prefix = platform.env['DATABASE_SCHEMA_PREFIX']!;
    if (databaseUrl) {
      // PostgreSQL: the verifier reads identity's schema directly, the platform still running.
      const before = await auditVerify([], platform.env);
      expect(before.stdout).toMatch(/^audit:verify ok entries=\d+/m);
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`UPDATE "${prefix}identity".audit_log SET details = $1::jsonb WHERE id = $2`, [
          tampered,
          victim!.id,
        ]);
      } finally {
        await client.end();
      }
      const after = await auditVerify([], platform.env);
      expect(after.stdout).toContain(`audit:verify FAILED at entry ${victim!.id} (HASH_MISMATCH)`);
      expect(after.code).toBe(1);
      await platform.stop();
      stopped = true;
      return;
    }
    // Embedded: PGlite files belong to one process, so stop the platform, then verify and edit
    // identity's database directly.
    await platform.stop({ keepData: true });
    stopped = true;
    try {
      const offline = await auditVerify(['--data-dir', platform.dataDir], platform.env);
      expect(offline.stdout).toMatch(/^audit:verify ok entries=\d+/m);
      expect(offline.code).toBe(0);
      const db = await openDatabase({ schema: 'identity', dataDir: path.join(platform.dataDir, 'identity') });
      try {
        await db.query('UPDATE audit_log SET details = $1::jsonb WHERE id = $2', [tampered, victim!.id]);
      } finally {
        await db.close();
      }
      const after = await auditVerify(['--data-dir', platform.dataDir], platform.env);
      expect(after.stdout).toContain(`audit:verify FAILED at entry ${victim!.id} (HASH_MISMATCH)`);
      expect(after.code).toBe(1);
    } finally {
      await rm(platform.dataDir, { recursive: true, force: true });
    }
  });
});
