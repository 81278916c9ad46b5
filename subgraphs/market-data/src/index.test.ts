import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import pg from 'pg';
import { composeServices } from '@apollo/composition';
import {
  internalIdentityHeader,
  openDatabase,
  signInternalIdentity,
  type RunningService,
} from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  userIdentity,
  type TestDatabase,
} from '@graphex/runtime/testing';
import { referenceMarkets } from '@graphex/schema';
import { createInProcessCoreClient, type InProcessCoreClient } from '@graphex/matching-core';
import {
  createMarketDataService,
  marketDataMigrationsDir,
  marketDataSchemaName,
  marketDataSdl,
  setMarketFees,
  setMarketStatus,
  startMarketData,
} from './index.ts';

const marketFields =
  'symbol baseCurrency quoteCurrency tickSize lotSize minNotional makerFeeRate takerFeeRate status';

describe('market-data service', () => {
  let testDb: TestDatabase;
  let service: RunningService;
  let core: InProcessCoreClient;
  let coreDir: string;

  beforeAll(async () => {
    coreDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-market-data-core-'));
    core = await createInProcessCoreClient({ dataDir: coreDir });
    testDb = await openTestDatabase(marketDataSchemaName, marketDataMigrationsDir);
    service = await createMarketDataService({
      config: testConfig(),
      db: testDb.db,
      port: 0,
      logger: testLogger,
      coreClient: core,
    });
  });

  afterAll(async () => {
    await service?.close();
    await core?.close();
    await testDb?.dispose();
    await rm(coreDir, { recursive: true, force: true });
  });

  it('answers /health with 200 once its database answers and the projection caught up', async () => {
    await (service as Awaited<ReturnType<typeof createMarketDataService>>).projection.whenCaughtUp();
    const response = await fetch(service.url.replace('/graphql', '/health'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ service: 'market-data', status: 'ok' });
  });

  it('refuses requests without a gateway identity: UNAUTHENTICATED with HTTP 401', async () => {
    const result = await callSubgraph(service.url, '{ markets { symbol } }', {}, null);
    expect(result.status).toBe(401);
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('refuses a forged identity and a GET without identity the same way', async () => {
    const forged = await signInternalIdentity(
      userIdentity('u1', 'ADMIN'),
      'not-the-gateway-secret-0123456789abcdef',
      60,
    );
    const response = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [internalIdentityHeader]: forged },
      body: JSON.stringify({ query: '{ markets { symbol } }' }),
    });
    expect(response.status).toBe(401);
    expect(
      ((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions
        .code,
    ).toBe('UNAUTHENTICATED');
    const get = await fetch(`${service.url}?query=${encodeURIComponent('{ markets { symbol } }')}`);
    expect(get.status).toBe(401);
  });

  it('lists the seeded reference markets with exact decimal strings (public: anonymous identity)', async () => {
    const result = await callSubgraph<{ markets: Array<Record<string, string>> }>(
      service.url,
      `{ markets { ${marketFields} } }`,
    );
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    const expected = [...referenceMarkets]
      .sort((a, b) => (a.symbol < b.symbol ? -1 : 1))
      .map((market) => ({ ...market, status: 'TRADING' }));
    expect(result.data?.markets).toEqual(expected);
    expect(result.data?.markets.find((market) => market['symbol'] === 'ETH-BTC')?.['tickSize']).toBe(
      '0.000001',
    );
  });

  it('finds one market by symbol and answers null for unknown or implausible symbols', async () => {
    const query =
      'query ($symbol: String!) { market(symbol: $symbol) { symbol tickSize lotSize createdAt } }';
    const known = await callSubgraph<{ market: Record<string, string> | null }>(service.url, query, {
      symbol: 'BTC-USDT',
    });
    expect(known.data?.market).toMatchObject({ symbol: 'BTC-USDT', tickSize: '0.01', lotSize: '0.00001' });
    expect(new Date(known.data!.market!['createdAt']!).toISOString()).toBe(known.data!.market!['createdAt']);
    for (const symbol of ['DOGE-USDT', 'btc-usdt', "BTC-USDT' OR 1=1 --", '']) {
      const unknown = await callSubgraph(service.url, query, { symbol });
      expect(unknown.errors).toBeUndefined();
      expect(unknown.data).toEqual({ market: null });
    }
  });

  it('lists the assets with their decimals', async () => {
    const result = await callSubgraph(service.url, '{ assets { symbol name decimals } }');
    expect(result.data).toEqual({
      assets: [
        { symbol: 'BTC', name: 'Bitcoin', decimals: 8 },
        { symbol: 'ETH', name: 'Ether', decimals: 18 },
        { symbol: 'USDT', name: 'Tether USD', decimals: 6 },
      ],
    });
  });

  it('resolves Market and Asset entity references for the gateway (unknown → null)', async () => {
    const result = await callSubgraph(
      service.url,
      `query ($representations: [_Any!]!) {
        _entities(representations: $representations) {
          __typename
          ... on Market { symbol makerFeeRate quoteCurrency }
          ... on Asset { symbol decimals }
        }
      }`,
      {
        representations: [
          { __typename: 'Market', symbol: 'ETH-USDT' },
          { __typename: 'Market', symbol: 'NOPE-USDT' },
          { __typename: 'Asset', symbol: 'USDT' },
        ],
      },
      userIdentity('user-1'),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      _entities: [
        { __typename: 'Market', symbol: 'ETH-USDT', makerFeeRate: '0.001', quoteCurrency: 'USDT' },
        null,
        { __typename: 'Asset', symbol: 'USDT', decimals: 6 },
      ],
    });
  });

  it('serves schema.graphql verbatim as its federation SDL', async () => {
    const result = await callSubgraph<{ _service: { sdl: string } }>(service.url, '{ _service { sdl } }');
    expect(result.data?._service.sdl).toBe(marketDataSdl);
    expect(result.data?._service.sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
  });

  it('reports parse and validation failures with registry codes and HTTP 400', async () => {
    const syntax = await callSubgraph(service.url, '{ markets { symbol }');
    expect(syntax.status).toBe(400);
    expect(syntax.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    const invalid = await callSubgraph(service.url, '{ markets { nope } }');
    expect(invalid.status).toBe(400);
    expect(invalid.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    const variables = await callSubgraph(
      service.url,
      'query ($s: String!) { market(symbol: $s) { symbol } }',
      { s: 42 },
    );
    expect(variables.status).toBe(400);
    expect(variables.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('answers malformed requests with 4xx and a registry code, never an internal error', async () => {
    const identity = await signInternalIdentity(userIdentity('u1'), testConfig().internalTokenSecret, 60);
    const post = async (body: string): Promise<{ status: number; code: unknown }> => {
      const response = await fetch(service.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [internalIdentityHeader]: identity },
        body,
      });
      const json = (await response.json()) as { errors?: Array<{ extensions?: { code?: unknown } }> };
      return { status: response.status, code: json.errors?.[0]?.extensions?.code };
    };
    expect(await post(JSON.stringify({ query: '123' }))).toEqual({
      status: 400,
      code: 'GRAPHQL_PARSE_FAILED',
    });
    expect(await post(JSON.stringify({ query: '{"kind":"Document","definitions":[]}' }))).toEqual({
      status: 400,
      code: 'GRAPHQL_PARSE_FAILED',
    });
    expect(await post('{not json')).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(await post(JSON.stringify([{ query: '{ markets { symbol } }' }]))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
    });
    expect(await post(JSON.stringify({ query: '{ markets { symbol } }', variables: 'x' }))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
    });
    expect(await post(JSON.stringify({ query: `{ ${'markets { symbol } '.repeat(2000)} }` }))).toEqual({
      status: 400,
      code: 'GRAPHQL_PARSE_FAILED',
    });
    const getMutation = await fetch(`${service.url}?query=${encodeURIComponent('mutation { x }')}`, {
      headers: { [internalIdentityHeader]: identity },
    });
    expect(getMutation.status).toBe(405);
    const getQuery = await fetch(`${service.url}?query=${encodeURIComponent('{ markets { symbol } }')}`, {
      headers: { [internalIdentityHeader]: identity },
    });
    expect(getQuery.status).toBe(200);
  });

  it('answers 404 for paths other than /graphql and /health', async () => {
    const response = await fetch(service.url.replace('/graphql', '/admin'));
    expect(response.status).toBe(404);
  });
});

describe('market-data seeding across restarts', () => {
  let dataDir: string;
  let core: InProcessCoreClient;
  const databaseUrl = process.env['DATABASE_URL'];
  const schema = databaseUrl ? `market_data_r${Date.now().toString(36)}` : marketDataSchemaName;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-market-data-'));
    core = await createInProcessCoreClient({ dataDir: path.join(dataDir, 'core') });
  });

  afterAll(async () => {
    await core?.close();
    await rm(dataDir, { recursive: true, force: true });
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });

  it('seeds once, and a restart keeps operator changes (fees, removed markets)', async () => {
    const config = testConfig({ DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    const query = '{ markets { symbol makerFeeRate takerFeeRate status } }';

    const first = await startMarketData(config, { port: 0, logger: testLogger, schema, coreClient: core });
    await first.projection.whenCaughtUp();
    const initial = await callSubgraph<{ markets: Array<{ symbol: string }> }>(first.url, query);
    await first.close();
    expect(initial.data?.markets.map((market) => market.symbol)).toEqual(['BTC-USDT', 'ETH-BTC', 'ETH-USDT']);

    // An operator edits the data between runs.
    const db = await openDatabase({ schema, databaseUrl, dataDir: path.join(dataDir, 'market-data') });
    await setMarketFees(db, 'BTC-USDT', { makerFeeRate: '0.0005', takerFeeRate: '0.0015' });
    await setMarketStatus(db, 'ETH-USDT', 'HALTED');
    await db.query("DELETE FROM markets WHERE symbol = 'ETH-BTC'");
    await db.close();

    const second = await startMarketData(config, { port: 0, logger: testLogger, schema, coreClient: core });
    await second.projection.whenCaughtUp();
    const afterRestart = await callSubgraph(second.url, query);
    await second.close();
    expect(afterRestart.data).toEqual({
      markets: [
        { symbol: 'BTC-USDT', makerFeeRate: '0.0005', takerFeeRate: '0.0015', status: 'TRADING' },
        { symbol: 'ETH-USDT', makerFeeRate: '0.001', takerFeeRate: '0.002', status: 'HALTED' },
      ],
    });
  });
});

describe('market-data SDL composition', () => {
  it('composes with a Federation 2 Apollo subgraph that references Market by key', () => {
    const orders = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Market @key(fields: "symbol", resolvable: false) { symbol: String! }
      type Order @key(fields: "id") { id: ID! market: Market! }
      type Query { order(id: ID!): Order }
    `);
    const result = composeServices([
      { name: 'market-data', typeDefs: parse(marketDataSdl), url: 'http://market-data/graphql' },
      { name: 'orders', typeDefs: orders, url: 'http://orders/graphql' },
    ]);
    expect(result.errors).toBeUndefined();
    const supergraph = result.supergraphSdl ?? '';
    expect(supergraph).toMatch(
      /type Market\s+@join__type\(graph: MARKET_DATA, key: "symbol"\)\s+@join__type\(graph: ORDERS, key: "symbol", resolvable: false\)/,
    );
    expect(supergraph).toContain('makerFeeRate: Decimal!');
  });

  it('fails composition when a referencing subgraph contradicts the Market key field type', () => {
    const broken = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Market @key(fields: "symbol", resolvable: false) { symbol: Int! }
      type Query { probe: Market }
    `);
    const result = composeServices([
      { name: 'market-data', typeDefs: parse(marketDataSdl), url: 'http://market-data/graphql' },
      { name: 'probe', typeDefs: broken, url: 'http://probe/graphql' },
    ]);
    expect(result.errors?.length).toBeGreaterThan(0);
  });
});
