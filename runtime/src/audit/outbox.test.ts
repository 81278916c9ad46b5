/** The outbox half that lives in a service's own database. PGlite by default, PostgreSQL with DATABASE_URL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../testing.ts';
import { auditOutboxSql, enqueueAudit, enqueueAudits } from './outbox.ts';
import type { AuditEvent } from './chain.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await openTestDatabase('audit_outbox');
  await testDb.db.query(auditOutboxSql);
  await testDb.db.query('CREATE TABLE actions (id text PRIMARY KEY)');
});

afterAll(async () => {
  await testDb?.dispose();
});

const event: AuditEvent = {
  occurredAt: new Date('2026-01-02T03:04:05.678Z'),
  actor: 'service:orders',
  actorRole: 'SERVICE',
  action: 'ORDER_PLACED',
  requestId: 'req-1',
  targetUserId: null,
  details: { orderId: '42', price: '0.000001' },
};

const outbox = async () =>
  (
    await testDb.db.query<{ source_key: string; event: unknown }>(
      'SELECT source_key, event FROM audit_outbox ORDER BY audit_outbox.id',
    )
  ).rows.map((row) => ({
    sourceKey: row.source_key,
    event: typeof row.event === 'string' ? (JSON.parse(row.event) as unknown) : row.event,
  }));

describe('enqueueAudit', () => {
  it('records an event once per source key, as JSON with the exact time and details', async () => {
    await testDb.db.transaction(async (tx) => {
      await enqueueAudit(tx, 'order:42:ACCEPTED', event);
      await enqueueAudit(tx, 'order:42:ACCEPTED', { ...event, requestId: 'req-2' });
    });
    await enqueueAudit(testDb.db, 'order:42:ACCEPTED', event);
    expect(await outbox()).toEqual([
      {
        sourceKey: 'order:42:ACCEPTED',
        event: {
          occurredAt: '2026-01-02T03:04:05.678Z',
          actor: 'service:orders',
          actorRole: 'SERVICE',
          action: 'ORDER_PLACED',
          requestId: 'req-1',
          targetUserId: null,
          details: { orderId: '42', price: '0.000001' },
        },
      },
    ]);
  });

  it('commits and rolls back with the action it audits', async () => {
    await expect(
      testDb.db.transaction(async (tx) => {
        await tx.query("INSERT INTO actions (id) VALUES ('a1')");
        await enqueueAudit(tx, 'action:a1', event);
        throw new Error('the action failed');
      }),
    ).rejects.toThrow('the action failed');
    expect((await outbox()).map((r) => r.sourceKey)).toEqual(['order:42:ACCEPTED']);
    await testDb.db.transaction(async (tx) => {
      await tx.query("INSERT INTO actions (id) VALUES ('a1')");
      await enqueueAudit(tx, 'action:a1', event);
    });
    expect((await outbox()).map((r) => r.sourceKey)).toEqual(['order:42:ACCEPTED', 'action:a1']);
  });

  it('refuses a malformed event, failing the action with it', async () => {
    await expect(
      testDb.db.transaction(async (tx) => {
        await tx.query("INSERT INTO actions (id) VALUES ('a2')");
        await enqueueAudit(tx, 'action:a2', { ...event, action: 'placed order' });
      }),
    ).rejects.toThrow(/UPPER_SNAKE/);
    await expect(enqueueAudit(testDb.db, '', event)).rejects.toThrow(/source key/);
    expect((await testDb.db.query("SELECT 1 FROM actions WHERE id = 'a2'")).rows).toEqual([]);
    expect(await outbox()).toHaveLength(2);
  });

  it('enqueues a batch in order in one statement, skipping keys already present or repeated', async () => {
    const at = (n: number): AuditEvent => ({ ...event, requestId: `batch-${n}` });
    await testDb.db.transaction((tx) =>
      enqueueAudits(tx, [
        { sourceKey: 'batch:1', event: at(1) },
        { sourceKey: 'order:42:ACCEPTED', event: at(2) },
        { sourceKey: 'batch:3', event: at(3) },
        { sourceKey: 'batch:1', event: at(4) },
      ]),
    );
    const rows = await outbox();
    expect(rows.slice(2).map((r) => [r.sourceKey, (r.event as { requestId: string }).requestId])).toEqual([
      ['batch:1', 'batch-1'],
      ['batch:3', 'batch-3'],
    ]);
    await expect(
      enqueueAudits(testDb.db, [{ sourceKey: 'batch:5', event: { ...event, targetUserId: 'x' } }]),
    ).rejects.toThrow(/targetUserId/);
  });
});
