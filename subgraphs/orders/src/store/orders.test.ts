import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openTestDatabase, type TestDatabase } from '@graphex/runtime/testing';
import { ordersMigrationsDir } from '../index.ts';
import { decodeCursor, encodeCursor, pageRequest } from '../domain/cursor.ts';
import { applyOrderEvents } from '../projections/order-projection.ts';
import { eventSource, orderState } from '../test-fixtures.ts';
import { listUserOrders } from './orders.ts';

let test: TestDatabase;

beforeAll(async () => {
  test = await openTestDatabase('orders', ordersMigrationsDir);
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
        fc.uniqueArray(
          fc.tuple(
            fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/),
            fc.integer({ min: 0, max: 4 }),
            fc.integer({ min: 0, max: 999 }),
          ),
          {
            minLength: 0,
            maxLength: 30,
            selector: ([id]) => id,
          },
        ),
        fc.integer({ min: 1, max: 7 }),
        async (rows, pageSize) => {
          const userId = `prop-user-${run++}`;
          const events = eventSource(`prop-${run}`);
          await applyOrderEvents(
            test.db,
            rows.map(([id, second, ms]) =>
              events.updated(
                orderState({
                  id: `${userId}:${id}`,
                  userId,
                  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, second, ms)),
                }),
              ),
            ),
          );
          const expected = rows
            .map(([id, second, ms]) => ({
              id: `${userId}:${id}`,
              time: Date.UTC(2026, 0, 1, 0, 0, second, ms),
            }))
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
