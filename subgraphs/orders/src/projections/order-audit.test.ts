/**
 * Orders' audit records over the real core's event log: the projection batch that applies a
 * placement or a user's cancel writes its audit record to the outbox in the same transaction, once
 * per order whatever the batching or redelivery; fills and expiries are not user actions.
 * PGlite by default, PostgreSQL with DATABASE_URL.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, MarketIds, limitOrder } from '@graphex/matching-core';
import { auditEventFromJson, auditOutboxSql, type AuditEvent } from '@graphex/runtime';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import type { CoreCommand, PublicCoreEvent } from '@graphex/schema';
import { ordersMigrationsDir } from '../index.ts';
import { MarketCatalog } from '../domain/market.ts';
import { startTestCore, type TestCore } from '../test-fixtures.ts';
import { applyCoreEvents } from './order-projection.ts';

let testCore: TestCore;
let live: TestDatabase;
const log: PublicCoreEvent[] = [];
const maker = randomUUID();
const taker = randomUUID();
const orderIds: Record<string, string> = {};

const place = (userId: string, side: 'BUY' | 'SELL', priceTicks: number, quantityLots: number, extra = {}) =>
  ({ ...limitOrder(0, MarketIds.BTC_USDT, side, priceTicks, quantityLots, extra), userId }) as CoreCommand;

beforeAll(async () => {
  testCore = await startTestCore();
  live = await openTestDatabase('orders', ordersMigrationsDir);
  const { core } = testCore;
  const submit = async (name: string | null, command: CoreCommand) => {
    const outcome = await core.submit(command);
    expect(outcome.result.code).toBe(0);
    if (name) orderIds[name] = String(outcome.result.orderId);
  };
  await submit(null, { type: 'Deposit', userId: maker, assetId: AssetIds.BTC, amountUnits: 100_000_000n });
  await submit(null, { type: 'Deposit', userId: taker, assetId: AssetIds.USDT, amountUnits: 10n ** 11n });
  await submit('ask', place(maker, 'SELL', 3_000_000, 30_000, { clientOrderId: 'ask-1' }));
  await submit('spare', place(maker, 'SELL', 3_100_000, 10_000));
  await submit('other', place(maker, 'SELL', 3_200_000, 10_000));
  await submit('bid', place(taker, 'BUY', 3_000_000, 30_000)); // fills `ask` completely
  await submit(null, { type: 'CancelOrder', userId: maker, orderId: Number(orderIds['spare']) });
  await submit(null, { type: 'CancelAll', userId: maker, marketId: null });
  const subscription = core.subscribe(0, (events) => {
    log.push(...events);
  });
  const last = await core.lastEventSeq();
  for (let i = 0; i < 200 && (log.at(-1)?.eventSeq ?? 0) < last; i++)
    await new Promise((r) => setTimeout(r, 10));
  await subscription.close();
  expect(log.at(-1)?.eventSeq).toBe(last);
});

afterAll(async () => {
  await live?.dispose();
  await testCore?.dispose();
});

async function outbox(): Promise<Array<{ key: string; event: AuditEvent }>> {
  const rows = await live.db.query<{ source_key: string; event: unknown }>(
    'SELECT source_key, event FROM audit_outbox ORDER BY audit_outbox.id',
  );
  return rows.rows.map((row) => ({
    key: row.source_key,
    event: auditEventFromJson(typeof row.event === 'string' ? JSON.parse(row.event) : row.event)!,
  }));
}

describe('order audit records', () => {
  it('records each placement and each user cancel once, in the batch that applies it', async () => {
    const catalog = new MarketCatalog();
    // Odd batch sizes, then the whole log again (redelivery): nothing is recorded twice.
    for (let i = 0; i < log.length; i += 3) await applyCoreEvents(live.db, catalog, log.slice(i, i + 3));
    await applyCoreEvents(live.db, catalog, log);

    const records = await outbox();
    const { ask, spare, other, bid } = orderIds as Record<string, string>;
    expect(records.map((r) => [r.key, r.event.action, r.event.actor])).toEqual([
      [`order:${ask}:ACCEPTED`, 'ORDER_PLACED', maker],
      [`order:${spare}:ACCEPTED`, 'ORDER_PLACED', maker],
      [`order:${other}:ACCEPTED`, 'ORDER_PLACED', maker],
      [`order:${bid}:ACCEPTED`, 'ORDER_PLACED', taker],
      [`order:${spare}:DONE`, 'ORDER_CANCELLED', maker],
      [`order:${other}:DONE`, 'ORDER_CANCELLED', maker],
    ]);
    expect(records[0]!.event).toMatchObject({
      actorRole: 'USER',
      targetUserId: maker,
      requestId: expect.stringMatching(/^core:\d+$/),
      details: {
        orderId: ask,
        symbol: 'BTC-USDT',
        side: 'SELL',
        type: 'LIMIT',
        price: '30000',
        quantity: '0.3',
        clientOrderId: 'ask-1',
        outcome: 'OPEN',
      },
    });
    expect(records[4]!.event.details).toMatchObject({ outcome: 'CANCELLED', filledQuantity: '0' });
    const placedAt = log.find((e) => e.type === 'OrderAccepted' && String(e.orderId) === ask)!;
    expect(records[0]!.event.occurredAt.getTime()).toBe(placedAt.timeMs);
    expect(records[0]!.event.requestId).toBe(`core:${placedAt.eventSeq}`);
  });

  it('creates the outbox exactly as the runtime defines it', () => {
    const sql = readFileSync(path.join(ordersMigrationsDir, '003_audit_outbox.sql'), 'utf8');
    expect(sql).toContain(auditOutboxSql);
  });
});
