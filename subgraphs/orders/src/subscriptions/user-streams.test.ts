/**
 * myOrders / myFills over a real graphql-ws client, with the identity the gateway signs into
 * `connection_init`: each user hears about their own orders and fills only, with the entity keys
 * the gateway needs (Order.market { symbol }, Order.user { id }, Fill.order { id }). With the
 * Redis bus, a subscriber connected to a second orders instance hears what the first applied.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { AssetIds } from '@graphex/matching-core';
import {
  internalIdentityHeader,
  openBus,
  signInternalIdentity,
  type Bus,
  type Identity,
} from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import { createOrdersService, ordersMigrationsDir, type OrdersService } from '../index.ts';
import { startTestCore, type TestCore } from '../test-fixtures.ts';

const config = testConfig();
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
let testCore: TestCore;
let test: TestDatabase;
let first: OrdersService;
let second: OrdersService;
const buses: Bus[] = [];
const clients: Client[] = [];
const aliceId = randomUUID();
const bobId = randomUUID();
const carolId = randomUUID();

function connect(service: OrdersService, identity: Identity): Client {
  const client = createClient({
    url: service.url.replace('http://', 'ws://'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: async () => ({
      [internalIdentityHeader]: await signInternalIdentity(identity, config.internalTokenSecret, 60),
    }),
  });
  clients.push(client);
  return client;
}

interface Recording {
  readonly values: Array<{ data?: Record<string, unknown> | null; errors?: unknown }>;
  error: unknown;
  completed: boolean;
}

/** Subscribes and resolves once the server acknowledged the operation (first ping round-trip). */
async function record(client: Client, query: string): Promise<Recording> {
  const recording: Recording = { values: [], error: undefined, completed: false };
  client.subscribe(
    { query },
    {
      next: (value) => recording.values.push(value as Recording['values'][number]),
      error: (error) => {
        recording.error = error;
      },
      complete: () => {
        recording.completed = true;
      },
    },
  );
  // The subscribe resolver awaits the bus subscription; give it a moment to be active.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return recording;
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const place = (service: OrdersService, identity: Identity, input: Record<string, unknown>) =>
  callSubgraph<{ placeOrder: { id: string; status: string } }>(
    service.url,
    'mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
    { input },
    identity,
    config,
  );

beforeAll(async () => {
  testCore = await startTestCore();
  test = await openTestDatabase('orders', ordersMigrationsDir);
  // Two instances on one database and one Redis bus: each event is applied (and announced) once.
  for (let i = 0; i < 2; i++) {
    const bus = await openBus(redisUrl);
    buses.push(bus);
    const service = await createOrdersService({
      config,
      db: test.db,
      core: testCore.core,
      bus,
      port: 0,
      logger: testLogger,
    });
    if (i === 0) first = service;
    else second = service;
  }
  for (const [userId, assetId, amountUnits] of [
    [aliceId, AssetIds.USDT, 1_000_000_000_000n],
    [bobId, AssetIds.BTC, 1_000_000_000n],
    [carolId, AssetIds.USDT, 1_000_000_000n],
  ] as const) {
    expect((await testCore.core.submit({ type: 'Deposit', userId, assetId, amountUnits })).result.code).toBe(
      0,
    );
  }
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await first?.close();
  await second?.close();
  for (const bus of buses) await bus.close();
  await test?.dispose();
  await testCore?.dispose();
});

describe('myOrders and myFills', () => {
  it('deliver each user their own order changes and fills, across instances, with federation keys', async () => {
    const orderQuery = 'subscription { myOrders { id status filledQuantity market { symbol } user { id } } }';
    const fillQuery =
      'subscription { myFills { tradeId price quantity fee feeCurrency liquidity order { id status } } }';
    const aliceOrders = await record(connect(second, userIdentity(aliceId)), orderQuery);
    const aliceFills = await record(connect(first, userIdentity(aliceId)), fillQuery);
    const bobFills = await record(connect(second, userIdentity(bobId)), fillQuery);
    const carolOrders = await record(connect(first, userIdentity(carolId)), orderQuery);

    const ask = await place(first, userIdentity(bobId), {
      symbol: 'BTC-USDT',
      side: 'SELL',
      type: 'LIMIT',
      price: '30000',
      quantity: '0.5',
    });
    const bid = await place(second, userIdentity(aliceId), {
      symbol: 'BTC-USDT',
      side: 'BUY',
      type: 'LIMIT',
      price: '30000',
      quantity: '0.2',
    });
    expect(bid.data!.placeOrder.status).toBe('FILLED');
    const bidId = bid.data!.placeOrder.id;
    const askId = ask.data!.placeOrder.id;

    await waitFor(
      () => aliceFills.values.length >= 1 && bobFills.values.length >= 1 && aliceOrders.values.length >= 1,
    );
    expect(aliceOrders.values).toEqual([
      {
        data: {
          myOrders: {
            id: bidId,
            status: 'FILLED',
            filledQuantity: '0.2',
            market: { symbol: 'BTC-USDT' },
            user: { id: aliceId },
          },
        },
      },
    ]);
    expect(aliceFills.values).toEqual([
      {
        data: {
          myFills: {
            tradeId: expect.any(String),
            price: '30000',
            quantity: '0.2',
            fee: '0.0004',
            feeCurrency: 'BTC',
            liquidity: 'TAKER',
            order: { id: bidId, status: 'FILLED' },
          },
        },
      },
    ]);
    expect(bobFills.values).toEqual([
      {
        data: {
          myFills: {
            tradeId: (aliceFills.values[0]!.data!['myFills'] as { tradeId: string }).tradeId,
            price: '30000',
            quantity: '0.2',
            fee: '6',
            feeCurrency: 'USDT',
            liquidity: 'MAKER',
            order: { id: askId, status: 'PARTIALLY_FILLED' },
          },
        },
      },
    ]);
    // Nobody else hears anything; nothing is delivered twice.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(carolOrders.values).toEqual([]);
    expect(aliceFills.values).toHaveLength(1);
    expect(aliceOrders.values).toHaveLength(1);
  });

  it('refuse anonymous subscribers with UNAUTHENTICATED', async () => {
    const anonymous = await record(
      connect(first, { kind: 'anonymous' }),
      'subscription { myFills { tradeId } }',
    );
    await waitFor(() => anonymous.completed);
    expect(anonymous.values).toEqual([
      {
        errors: [
          expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
        ],
      },
    ]);
  });
});
