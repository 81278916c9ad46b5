import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import type { PublicCoreEvent } from '@graphex/schema';
import { applyCoreEvents, createOrdersService, MarketCatalog, ordersMigrationsDir } from './index.ts';
import { idleCore, SyntheticEvents } from './test-fixtures.ts';

const alice = userIdentity('user-alice');
const bob = userIdentity('user-bob');
const support = userIdentity('user-support', 'SUPPORT');

const userOrdersQuery = `
  query ($id: ID!, $first: Int, $after: String, $symbol: String, $status: [OrderStatus!]) {
    _entities(representations: [{ __typename: "User", id: $id }]) {
      ... on User {
        orders(first: $first, after: $after, symbol: $symbol, status: $status) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { cursor node { id status market { symbol } user { id } } }
        }
      }
    }
  }`;

interface OrdersPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Array<{
    cursor: string;
    node: { id: string; status: string; market: { symbol: string }; user: { id: string } };
  }>;
}

function userOrders(
  url: string,
  identity: ReturnType<typeof userIdentity>,
  variables: Record<string, unknown>,
) {
  return callSubgraph<{ _entities: Array<{ orders: OrdersPage } | null> }>(
    url,
    userOrdersQuery,
    variables,
    identity,
  );
}

let test: TestDatabase;
let service: RunningService;
const events = new SyntheticEvents();
const catalog = new MarketCatalog();
/** Alice's orders in the order the API must list them: created_at desc, id desc. */
const aliceOrderIds: string[] = [];
/** Alice's order ids by creation index (0..22). */
const aliceByIndex: string[] = [];
const bobIds: string[] = [];
const idOf = (event: PublicCoreEvent): string => String((event as { orderId: number }).orderId);

beforeAll(async () => {
  test = await openTestDatabase('orders', ordersMigrationsDir);
  service = await createOrdersService({
    config: testConfig(),
    db: test.db,
    core: idleCore,
    port: 0,
    logger: testLogger,
  });
  const batch: PublicCoreEvent[] = [...events.log];
  const alices: Array<{ id: string; time: number }> = [];
  // 23 orders for Alice: several share a timestamp, so the id tie-breaker matters.
  for (let i = 0; i < 23; i++) {
    const timeMs = Date.UTC(2026, 0, 1, 0, 0, Math.floor(i / 3));
    const accepted = events.accepted({
      userId: 'user-alice',
      timeMs,
      symbol: i % 2 === 0 ? 'BTC-USDT' : 'ETH-USDT',
    });
    batch.push(accepted);
    alices.push({ id: idOf(accepted), time: timeMs });
    aliceByIndex.push(idOf(accepted));
  }
  for (let i = 0; i < 23; i += 5)
    batch.push(events.cancelled(Number(aliceByIndex[i]), 'user-alice', Date.UTC(2026, 0, 3)));
  for (let i = 0; i < 4; i++) {
    const accepted = events.accepted({ userId: 'user-bob' });
    batch.push(accepted);
    bobIds.push(idOf(accepted));
  }
  await applyCoreEvents(test.db, catalog, batch);
  aliceOrderIds.push(
    ...alices.sort((x, y) => y.time - x.time || (x.id < y.id ? 1 : -1)).map((order) => order.id),
  );
});

afterAll(async () => {
  await service?.close();
  await test?.dispose();
});

describe('orders service: transport', () => {
  it('answers /health', async () => {
    const response = await fetch(service.url.replace('/graphql', '/health'));
    expect(response.status).toBe(200);
  });

  it('is UNAUTHENTICATED (401) without the gateway identity', async () => {
    const result = await callSubgraph(service.url, '{ order(id: "1") { id } }', {}, null);
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('User.orders', () => {
  it('pages through all of a user’s orders without duplicates or gaps', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const result = await userOrders(service.url, alice, { id: 'user-alice', first: 5, after });
      expect(result.errors).toBeUndefined();
      const page = result.data!._entities[0]!.orders;
      expect(page.totalCount).toBe(23);
      seen.push(...page.edges.map((edge) => edge.node.id));
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(5);
    expect(seen).toEqual(aliceOrderIds);
  });

  it('keeps paging stable when newer orders arrive between pages', async () => {
    const first = await userOrders(service.url, alice, { id: 'user-alice', first: 10, symbol: 'BTC-USDT' });
    const page1 = first.data!._entities[0]!.orders;
    await applyCoreEvents(test.db, catalog, [
      events.accepted({ userId: 'user-alice', timeMs: Date.UTC(2027, 0, 1), symbol: 'BTC-USDT' }),
    ]);
    const second = await userOrders(service.url, alice, {
      id: 'user-alice',
      first: 10,
      symbol: 'BTC-USDT',
      after: page1.pageInfo.endCursor,
    });
    const page2 = second.data!._entities[0]!.orders;
    const ids = [...page1.edges, ...page2.edges].map((edge) => edge.node.id);
    const expected = aliceOrderIds.filter((id) => aliceByIndex.indexOf(id) % 2 === 0);
    expect(ids).toEqual(expected);
    expect(page2.totalCount).toBe(expected.length + 1);
    expect(page2.pageInfo.hasNextPage).toBe(false);
  });

  it('filters by status and returns cross-subgraph references', async () => {
    const result = await userOrders(service.url, alice, {
      id: 'user-alice',
      first: 50,
      status: ['CANCELLED'],
    });
    const page = result.data!._entities[0]!.orders;
    expect(page.edges.map((edge) => edge.node.id)).toEqual([20, 15, 10, 5, 0].map((i) => aliceByIndex[i]));
    expect(page.edges[0]!.node).toMatchObject({
      status: 'CANCELLED',
      market: { symbol: 'BTC-USDT' },
      user: { id: 'user-alice' },
    });
  });

  it('is FORBIDDEN for another user and allowed for SUPPORT', async () => {
    const asBob = await userOrders(service.url, bob, { id: 'user-alice', first: 5 });
    expect(asBob.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(JSON.stringify(asBob.data)).not.toContain('edges');
    const asSupport = await userOrders(service.url, support, { id: 'user-alice', first: 5 });
    expect(asSupport.errors).toBeUndefined();
    expect(asSupport.data!._entities[0]!.orders.edges).toHaveLength(5);
    const bobsOwn = await userOrders(service.url, bob, { id: 'user-bob', first: 50 });
    expect(bobsOwn.data!._entities[0]!.orders.edges.map((edge) => edge.node.id)).toEqual(
      [...bobIds].sort().reverse(),
    );
  });

  it('refuses bad cursors and page sizes with BAD_USER_INPUT', async () => {
    for (const variables of [
      { after: 'garbage' },
      { after: Buffer.from('[1,"not a time","x"]').toString('base64url') },
      { first: 0 },
      { first: 201 },
    ]) {
      const result = await userOrders(service.url, alice, { id: 'user-alice', ...variables });
      expect(result.errors?.[0]?.extensions?.['code'], JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    }
  });

  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    const result = await callSubgraph(service.url, userOrdersQuery, { id: 'user-alice' });
    expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('order(id)', () => {
  const orderQuery = `query ($id: ID!) { order(id: $id) {
    id quantity filledQuantity remainingQuantity averageFillPrice status price createdAt
    fills { tradeId price quantity fee feeCurrency liquidity order { id } }
  } }`;

  let id = '';
  beforeAll(() => {
    id = aliceByIndex[1]!;
  });

  it('shows the owner the order with exact derived amounts', async () => {
    const result = await callSubgraph(service.url, orderQuery, { id }, alice);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      order: {
        id,
        // ETH-USDT (lot 0.0001): 50,000 lots = 5 ETH.
        quantity: '5',
        filledQuantity: '0',
        remainingQuantity: '5',
        averageFillPrice: null,
        status: 'OPEN',
        price: '30000.01',
        createdAt: '2026-01-01T00:00:00.000Z',
        fills: [],
      },
    });
  });

  it('is null for other users (existence never leaks), visible to SUPPORT and ADMIN', async () => {
    const asBob = await callSubgraph(service.url, orderQuery, { id }, bob);
    expect(asBob.errors).toBeUndefined();
    expect(asBob.data).toEqual({ order: null });
    const missing = await callSubgraph(service.url, orderQuery, { id: '99999' }, bob);
    expect(missing.data).toEqual(asBob.data);
    const asSupport = await callSubgraph<{ order: { id: string } }>(service.url, orderQuery, { id }, support);
    expect(asSupport.data?.order.id).toBe(id);
    const asAdmin = await callSubgraph<{ order: { id: string } }>(
      service.url,
      orderQuery,
      { id },
      userIdentity('root', 'ADMIN'),
    );
    expect(asAdmin.data?.order.id).toBe(id);
  });

  it('resolves Order references only for callers who may see them', async () => {
    const query = `query ($id: ID!) { _entities(representations: [{ __typename: "Order", id: $id }]) { ... on Order { id status } } }`;
    expect((await callSubgraph(service.url, query, { id }, alice)).data).toEqual({
      _entities: [{ id, status: 'OPEN' }],
    });
    expect((await callSubgraph(service.url, query, { id }, bob)).data).toEqual({ _entities: [null] });
  });

  it('is UNAUTHENTICATED for an anonymous caller', async () => {
    const result = await callSubgraph(service.url, orderQuery, { id });
    expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(result.data).toEqual({ order: null });
  });
});
