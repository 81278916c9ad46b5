/**
 * The exchange-wide audit chain as other services reach it: a service's outbox shipped by the
 * runtime relay to a real identity service (retrying while identity is down, appending each record
 * exactly once and in order), the internal append/export routes, `Query.auditLog` filters, and a
 * chain written by the previous release still verifying after migration 003.
 * PGlite by default, PostgreSQL with DATABASE_URL.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  auditEntryHash,
  auditGenesisHash,
  auditInternalPaths,
  auditOutboxSql,
  AuditRelayError,
  enqueueAudit,
  migrate,
  readAuditHeadHash,
  readAuditLogPage,
  serviceTokenHeader,
  signServiceToken,
  startAuditRelay,
  verifyAuditChain,
  type AuditEvent,
  type AuditRelay,
  type ChainedAuditEntryJson,
  type Identity,
  type Queryable,
  type RunningService,
} from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  type TestDatabase,
} from '@graphex/runtime/testing';
import { identityMigrationsDir, startIdentity } from './index.ts';
import { appendAuditEntry } from './store/audit.ts';

const config = testConfig();
const userId = '6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e';

let identityDb: TestDatabase;
let ordersDb: TestDatabase;
let identity: RunningService | undefined;
let identityPort = 0;

async function startIdentityService(): Promise<RunningService> {
  identity = await startIdentity(config, { port: identityPort, db: identityDb.db });
  identityPort = identity.port;
  return identity;
}

/** The url identity has (or had) on its fixed port. */
const identityUrl = () => `http://127.0.0.1:${identityPort}/graphql`;

function placed(n: number): AuditEvent {
  return {
    occurredAt: new Date(Date.UTC(2026, 2, 1, 0, 0, n)),
    actor: userId,
    actorRole: 'USER',
    action: 'ORDER_PLACED',
    requestId: `req-${n}`,
    targetUserId: userId,
    details: { orderId: String(n), symbol: 'BTC-USDT', quantity: '0.00100000' },
  };
}

async function chainOf(db: Queryable) {
  const entries = await readAuditLogPage(db, null, 1000);
  return { entries, check: verifyAuditChain(entries, await readAuditHeadHash(db)) };
}

beforeAll(async () => {
  identityDb = await openTestDatabase('identity', identityMigrationsDir);
  ordersDb = await openTestDatabase('orders');
  await ordersDb.db.query(auditOutboxSql);
  await startIdentityService();
});

afterAll(async () => {
  await identity?.close();
  await identityDb?.dispose();
  await ordersDb?.dispose();
});

describe('audit relay', () => {
  it('retries while identity is down, then appends every outbox record exactly once, in order', async () => {
    await identity!.close();
    identity = undefined;
    for (const n of [1, 2, 3]) {
      await ordersDb.db.transaction((tx) => enqueueAudit(tx, `order:${n}:ACCEPTED`, placed(n)));
    }
    const relay: AuditRelay = startAuditRelay({
      db: ordersDb.db,
      source: 'orders',
      identityUrl: identityUrl(),
      internalTokenSecret: config.internalTokenSecret,
      logger: testLogger,
      intervalMs: 10,
      maxBackoffMs: 50,
      batchSize: 2,
    });
    try {
      await expect(relay.flush()).rejects.toThrow(/identity unreachable/);
      const unshipped = await ordersDb.db.query('SELECT 1 FROM audit_outbox WHERE shipped_at IS NULL');
      expect(unshipped.rows).toHaveLength(3);

      await startIdentityService();
      // The background loop (not flush) delivers once identity is back.
      await vi.waitFor(
        async () => {
          const left = await ordersDb.db.query('SELECT 1 FROM audit_outbox WHERE shipped_at IS NULL');
          expect(left.rows).toHaveLength(0);
        },
        { timeout: 10_000, interval: 20 },
      );
      const shipped = async () =>
        (await chainOf(identityDb.db)).entries
          .filter((entry) => entry.source === 'orders')
          .map((entry) => [entry.sourceKey, entry.requestId]);
      expect(await shipped()).toEqual([
        ['order:1:ACCEPTED', 'req-1'],
        ['order:2:ACCEPTED', 'req-2'],
        ['order:3:ACCEPTED', 'req-3'],
      ]);

      // A crash between identity's answer and marking the rows shipped ships them again: no duplicates.
      await ordersDb.db.query('UPDATE audit_outbox SET shipped_at = NULL');
      await ordersDb.db.transaction((tx) => enqueueAudit(tx, 'order:4:ACCEPTED', placed(4)));
      await relay.flush();
      expect((await shipped()).map(([key]) => key)).toEqual([
        'order:1:ACCEPTED',
        'order:2:ACCEPTED',
        'order:3:ACCEPTED',
        'order:4:ACCEPTED',
      ]);
      const { check } = await chainOf(identityDb.db);
      expect(check).toMatchObject({ ok: true });
    } finally {
      await relay.stop();
    }
  });

  it('reports a refusal (wrong secret) as refused, not as identity being down', async () => {
    await ordersDb.db.transaction((tx) => enqueueAudit(tx, 'order:5:ACCEPTED', placed(5)));
    const relay = startAuditRelay({
      db: ordersDb.db,
      source: 'orders',
      identityUrl: identityUrl(),
      internalTokenSecret: 'not-the-platform-secret-0123456789abcdef',
      logger: testLogger,
      intervalMs: 60_000,
    });
    try {
      const failure: unknown = await relay.flush().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(AuditRelayError);
      expect((failure as AuditRelayError).refused).toBe(true);
      const left = await ordersDb.db.query(
        "SELECT 1 FROM audit_outbox WHERE source_key = 'order:5:ACCEPTED' AND shipped_at IS NULL",
      );
      expect(left.rows).toHaveLength(1);
    } finally {
      await ordersDb.db.query("DELETE FROM audit_outbox WHERE source_key = 'order:5:ACCEPTED'");
      await relay.stop();
    }
  });
});

describe('internal audit routes', () => {
  const append = async (service: string | null, body: unknown) =>
    fetch(new URL(auditInternalPaths.append, identityUrl()), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(service
          ? { [serviceTokenHeader]: await signServiceToken(service, config.internalTokenSecret) }
          : {}),
      },
      body: JSON.stringify(body),
    });
  const record = (key: string, event: AuditEvent = placed(9)) => ({
    sourceKey: key,
    event: { ...event, occurredAt: event.occurredAt.toISOString() },
  });

  it('appends only as the calling service, only well-formed batches, all or nothing', async () => {
    const before = (await chainOf(identityDb.db)).entries.length;
    expect((await append(null, { source: 'wallets', records: [record('w:1')] })).status).toBe(401);
    // A service token names the service: orders cannot write wallets' records, nobody writes identity's.
    expect((await append('orders', { source: 'wallets', records: [record('w:1')] })).status).toBe(400);
    expect((await append('identity', { source: 'identity', records: [record('i:1')] })).status).toBe(400);
    const bad = { ...record('w:3'), event: { ...record('w:3').event, action: 'lower case' } };
    expect((await append('wallets', { source: 'wallets', records: [record('w:2'), bad] })).status).toBe(400);
    expect((await append('wallets', { source: 'wallets', records: [] })).status).toBe(400);
    expect((await chainOf(identityDb.db)).entries.length).toBe(before);

    const ok = await append('wallets', {
      source: 'wallets',
      records: [record('w:2'), record('w:2'), record('w:5')],
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ appended: 2, duplicates: 1 });
    expect((await chainOf(identityDb.db)).entries.length).toBe(before + 2);
  });

  it('exports raw entries in chain order, page by page, to service tokens only', async () => {
    const url = (after: string, limit: number) => {
      const u = new URL(auditInternalPaths.export, identityUrl());
      u.searchParams.set('after', after);
      u.searchParams.set('limit', String(limit));
      return u;
    };
    expect((await fetch(url('0', 10))).status).toBe(401);
    const headers = {
      [serviceTokenHeader]: await signServiceToken('audit-verify', config.internalTokenSecret),
    };
    expect((await fetch(url('x', 10), { headers })).status).toBe(400);
    expect((await fetch(url('0', 100_000), { headers })).status).toBe(400);
    const all: ChainedAuditEntryJson[] = [];
    let headHash: string | null = null;
    for (let after = '0'; ;) {
      const page = (await (await fetch(url(after, 3), { headers })).json()) as {
        entries: ChainedAuditEntryJson[];
        headHash: string;
      };
      headHash ??= page.headHash;
      all.push(...page.entries);
      if (page.entries.length < 3) break;
      after = page.entries.at(-1)!.id;
    }
    const { entries } = await chainOf(identityDb.db);
    expect(all.map((e) => e.id)).toEqual(entries.map((e) => e.id));
    expect(headHash).toBe(entries.at(-1)!.hash);
    expect(all.at(-1)).toMatchObject({ source: 'wallets', sourceKey: 'w:5', hashVersion: 2 });
  });
});

describe('Query.auditLog', () => {
  it('filters by source and action and shows where each entry came from', async () => {
    const compliance: Identity = {
      kind: 'user',
      userId: '11111111-2222-4333-8444-555555555555',
      role: 'COMPLIANCE',
      sessionId: null,
    };
    const query = `query($s: String, $a: String) {
      auditLog(source: $s, action: $a, first: 200) { id source sourceKey action actor previousHash hash }
    }`;
    const r = await callSubgraph<{
      auditLog: Array<{
        source: string;
        sourceKey: string;
        action: string;
        previousHash: string;
        hash: string;
      }>;
    }>(identity!.url, query, { s: 'orders', a: 'ORDER_PLACED' }, compliance, config);
    expect(r.errors).toBeUndefined();
    expect(r.data!.auditLog.map((e) => e.sourceKey)).toEqual([
      'order:1:ACCEPTED',
      'order:2:ACCEPTED',
      'order:3:ACCEPTED',
      'order:4:ACCEPTED',
    ]);
    expect(r.data!.auditLog.every((e) => e.source === 'orders' && e.hash.length === 64)).toBe(true);
    const none = await callSubgraph<{ auditLog: unknown[] }>(
      identity!.url,
      query,
      { s: 'wallets', a: 'LOGIN_SUCCEEDED' },
      compliance,
      config,
    );
    expect(none.data!.auditLog).toEqual([]);
    const user: Identity = { ...compliance, role: 'USER' };
    const refused = await callSubgraph(identity!.url, query, {}, user, config);
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });
});

describe("identity's own actions", () => {
  it('records sign-ups, failed and successful sign-ins (the email only hashed)', async () => {
    const email = 'audited@audit-chain.test';
    const password = 'Correct-Horse-9';
    const registered = await callSubgraph<{ register: { user: { id: string } } }>(
      identity!.url,
      `mutation($i: RegisterInput!) { register(input: $i) { user { id } } }`,
      { i: { email, password } },
      { kind: 'anonymous' },
      config,
    );
    const id = registered.data!.register.user.id;
    const login = (pass: string) =>
      callSubgraph<{ login: { accessToken: string } }>(
        identity!.url,
        `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`,
        { i: { email, password: pass } },
        { kind: 'anonymous' },
        config,
      );
    expect((await login('Wrong-Horse-9')).errors?.[0]?.extensions?.['code']).toBe('INVALID_CREDENTIALS');
    expect((await login(password)).errors).toBeUndefined();
    const { entries, check } = await chainOf(identityDb.db);
    expect(check).toMatchObject({ ok: true });
    const mine = entries.filter((e) => e.targetUserId === id);
    expect(mine.map((e) => [e.source, e.action, e.actor])).toEqual([
      ['identity', 'USER_REGISTERED', id],
      ['identity', 'LOGIN_FAILED', 'anonymous'],
      ['identity', 'LOGIN_SUCCEEDED', id],
    ]);
    expect(mine[1]!.details).toMatchObject({ reason: 'INVALID_CREDENTIALS', knownAccount: 'true' });
    expect(mine[1]!.details['emailHash']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(mine)).not.toContain(email);
    expect(JSON.stringify(mine)).not.toContain('Horse');
  });
});

describe('migration 003', () => {
  it('keeps a chain written by the previous release verifying, and chains new entries after it', async () => {
    // The previous release's migrations only, and entries appended the way it appended them.
    const oldMigrations = await mkdtemp(path.join(tmpdir(), 'identity-migrations-'));
    const legacyDb = await (async () => {
      for (const file of ['001_users_and_sessions.sql', '002_security.sql'])
        await cp(path.join(identityMigrationsDir, file), path.join(oldMigrations, file));
      return openTestDatabase('identity_legacy', oldMigrations);
    })();
    try {
      const { db } = legacyDb;
      let previousHash = auditGenesisHash;
      for (const n of [1, 2, 3]) {
        const event = { ...placed(n), action: 'ROLE_CHANGED', details: { from: 'USER', to: 'SUPPORT' } };
        // Version 1 ignores source and key.
        const hash = auditEntryHash(previousHash, { ...event, source: '', sourceKey: '' }, 1);
        await db.query(
          `INSERT INTO audit_log (occurred_at, actor, actor_role, action, request_id, target_user_id, details, previous_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            event.occurredAt,
            event.actor,
            event.actorRole,
            event.action,
            event.requestId,
            event.targetUserId,
            JSON.stringify(event.details),
            previousHash,
            hash,
          ],
        );
        await db.query('UPDATE audit_chain_head SET head_hash = $1', [hash]);
        previousHash = hash;
      }
      await migrate(db, identityMigrationsDir);
      const migrated = await chainOf(db);
      expect(migrated.check).toEqual({ ok: true, length: 3, headHash: previousHash });
      expect(migrated.entries.map((e) => [e.source, e.sourceKey, e.hashVersion])).toEqual(
        migrated.entries.map((e) => ['identity', `legacy:${e.id}`, 1]),
      );
      await db.transaction((tx) => appendAuditEntry(tx, 'ledger', 'adjustment:1', placed(4)));
      const extended = await chainOf(db);
      expect(extended.check).toMatchObject({ ok: true, length: 4 });
      expect(extended.entries.at(-1)).toMatchObject({ source: 'ledger', hashVersion: 2, previousHash });
      // Editing a legacy entry is still caught.
      await db.query(`UPDATE audit_log SET details = '{"from":"USER","to":"ADMIN"}' WHERE id = $1`, [
        extended.entries[1]!.id,
      ]);
      expect((await chainOf(db)).check).toMatchObject({
        ok: false,
        firstBadId: extended.entries[1]!.id,
        problem: 'HASH_MISMATCH',
      });
    } finally {
      await legacyDb.dispose();
      await rm(oldMigrations, { recursive: true, force: true });
    }
  });
});
