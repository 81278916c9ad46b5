/**
 * The gateway over two in-process test subgraphs: identity forwarding, edge authentication, error
 * passthrough and masking, health, limits and routing. Black-box over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceTokenHeader, signAccessToken, signServiceToken, type RunningService } from '@graphex/runtime';
import { callSubgraph, testConfig, userIdentity } from '@graphex/runtime/testing';
import { startGateway, type RunningGateway } from './gateway.ts';
import {
  captureLogger,
  composeTestSupergraph,
  getUrl,
  postGraphQL,
  startTestPlatform,
  unusedPort,
  type TestPlatform,
} from '../test/harness.ts';
import { secretFailure, startAccountsSubgraph } from '../test/services/accounts/server.ts';

let platform: TestPlatform;
let url: string;
const maxBodyBytes = 64 * 1024;

beforeAll(async () => {
  platform = await startTestPlatform({ maxBodyBytes });
  url = platform.gateway.url;
});
afterAll(async () => {
  await platform?.close();
});

const tokenFor = (userId: string, ttlSeconds = 300) =>
  signAccessToken(
    { userId, role: 'USER', sessionId: `session-of-${userId}` },
    platform.config.jwtSecret,
    ttlSeconds,
  );

/** Text that must never reach a client: internals of the failing subgraph and of our topology. */
function expectNoInternals(text: string): void {
  for (const secret of [
    'secret_ledger',
    'SELECT',
    'stacktrace',
    'serviceName',
    '127.0.0.1',
    '.invalid',
    '    at ',
  ]) {
    expect(text).not.toContain(secret);
  }
}

describe('federation through the gateway', () => {
  it('plans one query over both subgraphs, taking subgraph URLs from the override', async () => {
    const result = await postGraphQL(url, '{ greeting ordersGreeting }');
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      data: { greeting: 'hello from accounts', ordersGreeting: 'hello from orders' },
    });
    expect(platform.gateway.subgraphUrls).toEqual({
      accounts: platform.accounts.url,
      orders: platform.orders.url,
    });
  });

  it('answers GraphQL over HTTP GET for queries', async () => {
    const result = await getUrl(`${url}?query=${encodeURIComponent('{ greeting }')}`, {
      accept: 'application/json',
    });
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ data: { greeting: 'hello from accounts' } });
  });
});

describe('identity', () => {
  it('forwards anonymous when there is no Authorization header', async () => {
    const result = await postGraphQL(url, '{ viewer { kind userId } me { id } }');
    expect(result.json).toEqual({ data: { viewer: { kind: 'anonymous', userId: null }, me: null } });
  });

  it('forwards the verified user to every subgraph of the plan, signed by the gateway', async () => {
    const result = await postGraphQL(
      url,
      '{ viewer { kind userId role sessionId } me { id email orderCount } }',
      {
        headers: { authorization: `Bearer ${await tokenFor('user-42')}` },
      },
    );
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      data: {
        viewer: { kind: 'user', userId: 'user-42', role: 'USER', sessionId: 'session-of-user-42' },
        // orderCount is resolved by the orders subgraph, which checks the forwarded identity itself.
        me: { id: 'user-42', email: 'user-42@accounts.test', orderCount: 'user-42'.length },
      },
    });
  });

  it('accepts the Bearer scheme case-insensitively', async () => {
    const result = await postGraphQL(url, '{ viewer { userId } }', {
      headers: { authorization: `bearer ${await tokenFor('user-7')}` },
    });
    expect(result.json).toEqual({ data: { viewer: { userId: 'user-7' } } });
  });

  it.each([
    [
      'a token signed with another secret',
      async () =>
        `Bearer ${await signAccessToken({ userId: 'u', role: 'ADMIN', sessionId: 's' }, 'x'.repeat(48), 60)}`,
    ],
    ['an expired token', async () => `Bearer ${await tokenFor('user-1', -60)}`],
    ['a token that is not a JWT', async () => 'Bearer not-a-token'],
    ['an empty bearer', async () => 'Bearer '],
    ['another scheme', async () => 'Basic dXNlcjpwYXNz'],
    ['an oversized token', async () => `Bearer ${'a'.repeat(5000)}`],
  ])('refuses %s with HTTP 401 UNAUTHENTICATED (never downgrades to anonymous)', async (_name, header) => {
    const result = await postGraphQL(url, '{ viewer { kind } }', {
      headers: { authorization: await header() },
    });
    expect(result.status).toBe(401);
    expect(result.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(result.json.data).toBeUndefined();
    expect(result.json.errors).toHaveLength(1);
    expect(result.json.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('a subgraph reached directly, without or with a forged identity, answers UNAUTHENTICATED', async () => {
    const query = '{ viewer { kind } }';
    const missing = await callSubgraph(platform.accounts.url, query, {}, null);
    expect(missing.status).toBe(401);
    expect(missing.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');

    const forgedConfig = testConfig({ INTERNAL_TOKEN_SECRET: 'forged-secret-forged-secret-forged-secret' });
    const forged = await callSubgraph(
      platform.accounts.url,
      query,
      {},
      userIdentity('u', 'ADMIN'),
      forgedConfig,
    );
    expect(forged.status).toBe(401);
    expect(forged.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');

    // Control: the same call signed with the real secret is accepted.
    const signed = await callSubgraph(platform.accounts.url, query, {}, userIdentity('u'), platform.config);
    expect(signed).toMatchObject({ status: 200, data: { viewer: { kind: 'user' } } });
  });
});

describe('errors', () => {
  it('passes a subgraph registry code and its extensions through, without internals', async () => {
    const result = await postGraphQL(url, '{ refuse greeting }');
    expect(result.status).toBe(200);
    expect(result.json.data).toEqual({ refuse: null, greeting: 'hello from accounts' });
    expect(result.json.errors).toEqual([
      {
        message: 'Available USDT does not cover this order.',
        path: ['refuse'],
        extensions: { code: 'INSUFFICIENT_FUNDS', required: '10.50' },
      },
    ]);
    expectNoInternals(result.text);
  });

  it('passes refusals from an entity fetch in another subgraph through at the client path', async () => {
    const query = '{ user(id: "user-1") { id orderCount } }';
    const forbidden = await postGraphQL(url, query, {
      headers: { authorization: `Bearer ${await tokenFor('user-9')}` },
    });
    expect(forbidden.json.errors).toEqual([
      {
        message: 'Only the user may read their order count.',
        path: ['user', 'orderCount'],
        extensions: { code: 'FORBIDDEN' },
      },
    ]);
    const anonymousResult = await postGraphQL(url, query);
    expect(anonymousResult.json.errors?.map((e) => [e.path, e.extensions])).toEqual([
      [['user', 'orderCount'], { code: 'UNAUTHENTICATED' }],
    ]);
    expectNoInternals(forbidden.text + anonymousResult.text);
  });

  it('masks an unexpected subgraph error; the request id ties the response to both logs', async () => {
    const result = await postGraphQL(url, '{ explode greeting }');
    expect(result.status).toBe(200);
    const requestId = result.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.json.data).toEqual({ explode: null, greeting: 'hello from accounts' });
    expect(result.json.errors).toEqual([
      {
        message: 'Internal server error',
        path: ['explode'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
      },
    ]);
    expectNoInternals(result.text);
    // The subgraph logged the real failure under the gateway's request id...
    const subgraphLine = platform.logs.accounts.records.find(
      (r) => r['requestId'] === requestId && r['level'] === 'error',
    );
    expect(JSON.stringify(subgraphLine)).toContain('secret_ledger');
    // ...and the gateway logged the masked error under the same id.
    expect(
      platform.logs.gateway.records.some((r) => r['requestId'] === requestId && r['level'] === 'error'),
    ).toBe(true);
    expect(secretFailure).toContain('SELECT');
  });

  it('keeps the code of a variable the subgraph refuses to coerce (HTTP 400 from the subgraph)', async () => {
    const result = await postGraphQL(url, 'query Echo($amount: Decimal!) { echoAmount(amount: $amount) }', {
      variables: { amount: '1e5' },
    });
    expect(result.json.errors).toHaveLength(1);
    expect(result.json.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expectNoInternals(result.text);
    const valid = await postGraphQL(url, 'query Echo($amount: Decimal!) { echoAmount(amount: $amount) }', {
      variables: { amount: '0.00000001' },
    });
    expect(valid.json).toEqual({ data: { echoAmount: '0.00000001' } });
  });

  it('reports gateway-level failures with registry codes', async () => {
    const parse = await postGraphQL(url, '{ greeting');
    expect(parse.status).toBe(400);
    expect(parse.json.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    const validation = await postGraphQL(url, '{ noSuchField }');
    expect(validation.status).toBe(400);
    expect(validation.json.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    for (const body of [
      { query: 'query A { greeting }', operationName: 'Markets' },
      { query: 'query A { greeting } query B { ordersGreeting }' },
    ]) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
      expect(response.status).toBe(400);
      expect(json.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    }
  });

  it('answers request errors with 200 to clients that only accept application/json (legacy watershed)', async () => {
    const legacy = await postGraphQL(url, '{ noSuchField }', { headers: { accept: 'application/json' } });
    expect(legacy.status).toBe(200);
    expect(legacy.headers.get('content-type')).toMatch(/^application\/json/);
    expect(legacy.json.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    // A malformed HTTP request stays a 400 whatever the client accepts.
    const malformed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
  });
});

describe('request ids', () => {
  it('keeps a well-formed caller request id and replaces an unsafe one', async () => {
    const kept = await getUrl(`${url}?query=%7Bgreeting%7D`, { 'x-request-id': 'lb-1234abcd' });
    expect(kept.headers.get('x-request-id')).toBe('lb-1234abcd');
    const replaced = await getUrl(`${url}?query=%7Bgreeting%7D`, { 'x-request-id': 'bad id <script>' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('limits and routing', () => {
  it('refuses a body over the limit with 413 and keeps serving', async () => {
    const padding = 'x'.repeat(maxBodyBytes + 1);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ greeting }', variables: { padding } }),
    });
    expect(response.status).toBe(413);
    expect(
      ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code,
    ).toBe('BAD_REQUEST');
    const next = await postGraphQL(url, '{ greeting }');
    expect(next.json).toEqual({ data: { greeting: 'hello from accounts' } });
  });

  it('accepts a body just under the limit', async () => {
    const padding = 'x'.repeat(maxBodyBytes - 200);
    const result = await postGraphQL(url, '{ greeting }', { variables: { padding } });
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ data: { greeting: 'hello from accounts' } });
  });

  it('answers 404 for unknown paths and 405 for other methods on /health', async () => {
    expect((await getUrl(url.replace('/graphql', '/nope'))).status).toBe(404);
    expect((await fetch(url.replace('/graphql', '/health'), { method: 'POST' })).status).toBe(405);
  });

  it('refuses mutations over GET (GraphQL over HTTP)', async () => {
    const result = await getUrl(`${url}?query=${encodeURIComponent('mutation { x }')}`, {
      accept: 'application/json',
    });
    expect(result.status).toBe(405);
  });
});

describe('GraphiQL routes', () => {
  const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

  it('serves the page to a browser, with a strict CSP and only local, hashed assets', async () => {
    const page = await getUrl(url, { accept: browserAccept });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    expect(page.text).not.toMatch(/https?:\/\//);
    const assets = [...page.text.matchAll(/(?:src|href)="\.(\/graphiql\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((asset) => asset.split('/').pop())).toEqual([
      'graphiql.min.css',
      'page.css',
      'react.production.min.js',
      'react-dom.production.min.js',
      'graphiql.min.js',
      'boot.js',
    ]);
    const origin = new URL(url).origin;
    for (const asset of assets) {
      const response = await fetch(origin + asset);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(
        asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
      );
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-encoding')).toBe('gzip'); // fetch asks for gzip and inflates
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const graphiqlJs = origin + assets.find((asset) => asset.endsWith('/graphiql.min.js'))!;
    const first = await fetch(graphiqlJs);
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    expect((await fetch(graphiqlJs, { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('gives the API, not the page, to clients that do not prefer HTML', async () => {
    for (const accept of ['*/*', 'application/json', 'application/graphql-response+json, text/html;q=0.5']) {
      const result = await getUrl(`${url}?query=%7Bgreeting%7D`, { accept });
      expect(result.json).toEqual({ data: { greeting: 'hello from accounts' } });
    }
  });

  it('sends a browser at / to GraphiQL and anything else to a 404', async () => {
    const origin = new URL(url).origin;
    const browser = await fetch(`${origin}/`, { headers: { accept: browserAccept }, redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/graphql');
    expect((await fetch(`${origin}/`, { headers: { accept: 'application/json' } })).status).toBe(404);
  });

  it('answers 404 for an unknown asset or a stale hash', async () => {
    const origin = new URL(url).origin;
    expect((await fetch(`${origin}/graphiql/assets/0000000000000000/graphiql.min.js`)).status).toBe(404);
    expect((await fetch(`${origin}/graphiql/assets/../../etc/passwd`)).status).toBe(404);
  });
});

describe('/internal/memory', () => {
  it('reports the process memory to platform services only', async () => {
    const memoryUrl = url.replace('/graphql', '/internal/memory');
    expect((await getUrl(memoryUrl)).status).toBe(401);
    const forged = await signServiceToken('bench', 'forged-secret-forged-secret-forged-secret');
    expect((await getUrl(memoryUrl, { [serviceTokenHeader]: forged })).status).toBe(401);
    const token = await signServiceToken('bench', platform.config.internalTokenSecret);
    const result = await getUrl(memoryUrl, { [serviceTokenHeader]: token });
    expect(result.status).toBe(200);
    expect(result.headers.get('cache-control')).toBe('no-store');
    const memory = result.json as Record<string, number>;
    expect(Object.keys(memory).sort()).toEqual([
      'arrayBuffersBytes',
      'externalBytes',
      'heapTotalBytes',
      'heapUsedBytes',
      'rssBytes',
    ]);
    expect(memory['heapUsedBytes']).toBeGreaterThan(0);
    expect(memory['heapUsedBytes']).toBeLessThanOrEqual(memory['heapTotalBytes']!);
    expect(
      (await fetch(memoryUrl, { method: 'POST', headers: { [serviceTokenHeader]: token } })).status,
    ).toBe(405);
  });
});

describe('/health', () => {
  it('is 200 with every subgraph ok', async () => {
    const result = await getUrl(url.replace('/graphql', '/health'));
    expect(result.status).toBe(200);
    expect(result.headers.get('cache-control')).toBe('no-store');
    expect(result.json).toEqual({ status: 'ok', subgraphs: { accounts: 'ok', orders: 'ok' } });
  });

  describe('with a subgraph down and one not ready', () => {
    let degraded: RunningGateway;
    let notReady: RunningService;
    const logs = captureLogger('gateway');

    beforeAll(async () => {
      notReady = await startAccountsSubgraph({
        config: platform.config,
        logger: captureLogger('accounts').logger,
        isReady: async () => false,
      });
      degraded = await startGateway(platform.config, {
        port: 0,
        logger: logs.logger,
        supergraphSdl: composeTestSupergraph(),
        subgraphUrls: { accounts: notReady.url, orders: `http://127.0.0.1:${await unusedPort()}/graphql` },
        healthTimeoutMs: 500,
      });
    });
    afterAll(async () => {
      await degraded?.close();
      await notReady?.close();
    });

    it('is 503 and names each subgraph state', async () => {
      const result = await getUrl(degraded.url.replace('/graphql', '/health'));
      expect(result.status).toBe(503);
      expect(result.json).toEqual({
        status: 'unavailable',
        subgraphs: { accounts: 'unavailable', orders: 'unreachable' },
      });
    });

    it('a query needing the unreachable subgraph fails with SERVICE_UNAVAILABLE and no address', async () => {
      const result = await postGraphQL(degraded.url, '{ ordersGreeting }');
      expect(result.json.errors).toHaveLength(1);
      expect(result.json.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
      expectNoInternals(result.text);
      expect(
        logs.records.some((r) => r['message'] === 'subgraph unreachable' && r['subgraph'] === 'orders'),
      ).toBe(true);
    });
  });
});
