import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import { ordersMigrationsDir } from '../index.ts';
import { decodeCursor, encodeCursor, pageRequest } from '../domain/cursor.ts';
import { MarketCatalog } from '../domain/market.ts';
import { applyCoreEvents } from '../projections/order-projection.ts';
import { SyntheticEvents } from '../test-fixtures.ts';
import { listUserOrders } from './orders.ts';

let test: TestDatabase;
const events = new SyntheticEvents();
const catalog = new MarketCatalog();

beforeAll(async () => {
  test = await openTestDatabase('orders', ordersMigrationsDir);
  await applyCoreEvents(test.db, catalog, events.log);
});

afterAll(async () => {
  await test?.dispose();
});

describe('listUserOrders keyset pagination (property)', () => {
  it('concatenated pages equal the full newest-first listing for any data and page size', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        // Few distinct timestamps → many ties broken by id; ids of varying shapes.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 999 })), {
          minLength: 0,
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 7 }),
        async (rows, pageSize) => {
          const userId = `prop-user-${run++}`;
          const accepted = rows.map(([second, ms]) =>
            events.accepted({ userId, timeMs: Date.UTC(2026, 0, 1, 0, 0, second, ms) }),
          );
          await applyCoreEvents(test.db, catalog, accepted);
          const expected = accepted
            .map((event) => ({ id: String((event as { orderId: number }).orderId), time: event.timeMs }))
            .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
            .map((row) => row.id);
          const seen: string[] = [];
          let after: string | null = null;
          for (let guard = 0; guard <= rows.length + 1; guard++) {
            const page = await listUserOrders(test.db, { userId }, pageRequest(pageSize, after));
            expect(page.totalCount).toBe(rows.length);
            seen.push(...page.edges.map((edge) => edge.order.id));
            if (!page.hasNextPage) break;
            after = encodeCursor(page.edges.at(-1)!.cursor);
            expect(decodeCursor(after)).toEqual(page.edges.at(-1)!.cursor);
          }
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });
});
