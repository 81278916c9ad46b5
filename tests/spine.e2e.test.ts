/**
 * Issue 2's "done when": the real processes, one query through the gateway that joins identity,
 * ledger, orders, wallets and market-data for a freshly registered user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, OverviewDocument, RegisterDocument } from '@graphex/clients';
import { gql, gqlOk, startPlatform, type Platform } from './harness/index.ts';

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform({
    env: { EXCHANGE_ADMIN_EMAIL: 'admin@graphex.test', EXCHANGE_ADMIN_PASSWORD: 'Admin-password-123' },
  });
}, 180_000);

afterAll(async () => {
  await platform?.stop();
});

describe('platform spine through the gateway', () => {
  it('reports health for every subgraph', async () => {
    const response = await fetch(platform.gatewayUrl.replace(/\/graphql$/, '/health'));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { subgraphs: Record<string, unknown> };
    expect(Object.keys(body.subgraphs).sort()).toEqual([
      'identity',
      'ledger',
      'market-data',
      'orders',
      'wallets',
    ]);
  });

  it('joins all five subgraphs in one query for a registered user', async () => {
    // Typed documents generated from clients/src/operations (graphql-codegen client preset).
    const client = createClient({ url: platform.gatewayUrl });
    const registered = await client.request(RegisterDocument, {
      input: { email: 'Alice@Example.com', password: 'correct-horse-battery-9' },
    });
    const overview = await client.withToken(registered.register.accessToken).request(OverviewDocument);
    expect(overview).toEqual({
      me: {
        id: registered.register.user.id,
        email: 'alice@example.com',
        kycStatus: 'NONE',
        accounts: expect.arrayContaining([
          { currency: 'BTC', available: '0', locked: '0', total: '0' },
          { currency: 'ETH', available: '0', locked: '0', total: '0' },
          { currency: 'USDT', available: '0', locked: '0', total: '0' },
        ]),
        orders: { totalCount: 0 },
        transactions: [],
      },
      markets: expect.arrayContaining([
        { symbol: 'BTC-USDT', tickSize: '0.01', lotSize: '0.00001', makerFeeRate: '0.001' },
        { symbol: 'ETH-USDT', tickSize: '0.01', lotSize: '0.0001', makerFeeRate: '0.001' },
        { symbol: 'ETH-BTC', tickSize: '0.000001', lotSize: '0.001', makerFeeRate: '0.001' },
      ]),
    });
  });

  it('lets the admin from the environment adjust a balance, visible across subgraphs', async () => {
    const admin = await gqlOk<{ login: { accessToken: string } }>(
      platform.gatewayUrl,
      `mutation { login(input: { email: "admin@graphex.test", password: "Admin-password-123" }) { accessToken } }`,
    );
    const user = await gqlOk<{ register: { accessToken: string; user: { id: string } } }>(
      platform.gatewayUrl,
      `mutation { register(input: { email: "bob@example.com", password: "another-good-pass-7" }) { accessToken user { id } } }`,
    );
    const adjusted = await gql(
      platform.gatewayUrl,
      `mutation ($id: ID!) { adminAdjustBalance(userId: $id, currency: "ETH", amount: "1.000000000000000001", reason: "e2e credit") { currency available total } }`,
      { id: user.register.user.id },
      admin.login.accessToken,
    );
    expect(adjusted.errors).toBeUndefined();
    expect(adjusted.data).toEqual({
      adminAdjustBalance: {
        currency: 'ETH',
        available: '1.000000000000000001',
        total: '1.000000000000000001',
      },
    });

    const me = await gqlOk<{ me: { accounts: Array<{ currency: string; available: string }> } }>(
      platform.gatewayUrl,
      `{ me { accounts { currency available } } }`,
      {},
      user.register.accessToken,
    );
    expect(me.me.accounts).toContainEqual({ currency: 'ETH', available: '1.000000000000000001' });

    // A user is not an admin: refused with a registry code, nothing moved.
    const refused = await gql(
      platform.gatewayUrl,
      `mutation ($id: ID!) { adminAdjustBalance(userId: $id, currency: "ETH", amount: "5", reason: "self-service") { available } }`,
      { id: user.register.user.id },
      user.register.accessToken,
    );
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('refuses an invalid bearer token instead of treating the caller as anonymous', async () => {
    const result = await gql(platform.gatewayUrl, `{ me { email } }`, {}, 'not-a-token');
    expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('answers anonymous market data and a null me', async () => {
    const result = await gqlOk<{ me: null; markets: unknown[] }>(
      platform.gatewayUrl,
      `{ me { email } markets { symbol } }`,
    );
    expect(result.me).toBeNull();
    expect(result.markets).toHaveLength(3);
  });

  it('refuses direct subgraph access without the gateway identity', async () => {
    for (const name of ['identity', 'ledger', 'orders', 'market-data', 'wallets'] as const) {
      const result = await gql(platform.urls[name], `{ __typename }`);
      expect(result.errors?.[0]?.extensions?.['code'], name).toBe('UNAUTHENTICATED');
    }
  });
});
