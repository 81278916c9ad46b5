/**
 * startOrders as `npm start` runs it: no injected client, so it connects to the matching-core
 * service at MATCHING_CORE_URL (remote CoreClient over WebSocket), projects its events, reports
 * ready on /health once caught up, and trades through it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetIds, startCoreService, type RunningCoreService } from '@graphex/matching-core';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import { ordersMigrationsDir, startOrders, type OrdersService } from './index.ts';

const config = testConfig();
let dataDir: string;
let coreService: RunningCoreService;
let test: TestDatabase;
let orders: OrdersService;
const previousUrl = process.env['MATCHING_CORE_URL'];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'graphex-orders-start-'));
  coreService = await startCoreService(config, { port: 0, logger: testLogger, dataDir });
  process.env['MATCHING_CORE_URL'] = `ws://127.0.0.1:${coreService.port}/core`;
  test = await openTestDatabase('orders', ordersMigrationsDir);
  orders = await startOrders(config, { port: 0, db: test.db, logger: testLogger });
});

afterAll(async () => {
  await orders?.close();
  await test?.dispose();
  await coreService?.close();
  if (previousUrl === undefined) delete process.env['MATCHING_CORE_URL'];
  else process.env['MATCHING_CORE_URL'] = previousUrl;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('startOrders against the matching-core service', () => {
  it('becomes ready once caught up and answers placeOrder with the remote core’s verdict', async () => {
    const health = orders.url.replace('/graphql', '/health');
    for (let i = 0; i < 200 && (await fetch(health)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect((await fetch(health)).status).toBe(200);
    expect(orders.catalog.marketBySymbol('BTC-USDT')).toBeDefined();

    const userId = randomUUID();
    const deposit = await coreService.core.submit({
      type: 'Deposit',
      userId,
      assetId: AssetIds.USDT,
      amountUnits: 10_000_000_000n,
    });
    expect(deposit.result.code).toBe(0);
    const placed = await callSubgraph<{
      placeOrder: { id: string; status: string; price: string; user: { id: string } };
    }>(
      orders.url,
      `mutation { placeOrder(input: { symbol: "BTC-USDT", side: BUY, type: LIMIT, price: "25000", quantity: "0.1" }) {
        id status price user { id } } }`,
      {},
      userIdentity(userId),
      config,
    );
    expect(placed.errors).toBeUndefined();
    expect(placed.data!.placeOrder).toMatchObject({ status: 'OPEN', price: '25000', user: { id: userId } });
    await orders.projection.waitFor(await coreService.core.lastEventSeq());
    const read = await callSubgraph<{ order: { status: string } }>(
      orders.url,
      'query ($id: ID!) { order(id: $id) { status } }',
      { id: placed.data!.placeOrder.id },
      userIdentity(userId),
      config,
    );
    expect(read.data).toEqual({ order: { status: 'OPEN' } });
  });
});
