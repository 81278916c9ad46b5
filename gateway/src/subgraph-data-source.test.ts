import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { verifyInternalIdentity, type Identity } from '@graphex/runtime';
import { testConfig } from '@graphex/runtime/testing';
import { createSubgraphFetcher, internalIdentityTokenFor } from './subgraph-data-source.ts';

describe('internalIdentityTokenFor', () => {
  const config = testConfig();
  const identity: Identity = { kind: 'user', userId: 'u-1', role: 'ADMIN', sessionId: 's-1' };

  it('signs once per request: every fetch of the plan reuses the same token', async () => {
    const tokenOf = internalIdentityTokenFor(identity, config);
    const first = tokenOf();
    expect(tokenOf()).toBe(first);
    expect(await verifyInternalIdentity(await first, config.internalTokenSecret)).toEqual(identity);
  });

  it('is verifiable only with the same INTERNAL_TOKEN_SECRET', async () => {
    const token = await internalIdentityTokenFor(identity, config)();
    await expect(verifyInternalIdentity(token, `${config.internalTokenSecret}-other`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});

describe('createSubgraphFetcher', () => {
  async function serve(handler: Parameters<typeof createServer>[1]) {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/graphql`, server };
  }

  it('POSTs the body with its headers over kept-alive connections and answers like fetch', async () => {
    const seen: Array<{ body: string; identity: string | undefined; remotePort: number | undefined }> = [];
    const { url, server } = await serve((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        seen.push({
          body,
          identity: request.headers['x-graphex-identity'] as string | undefined,
          remotePort: request.socket.remotePort,
        });
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'max-age=5',
        });
        response.end(JSON.stringify({ data: { ok: '\u00e9' } }));
      });
    });
    try {
      const fetcher = createSubgraphFetcher(url, 5_000);
      const init = { method: 'POST', headers: { 'x-graphex-identity': 't' }, body: '{"query":"{ ok }"}' };
      const first = await fetcher(url, init);
      const second = await fetcher(url, init);
      expect(first.ok).toBe(true);
      expect(first.status).toBe(200);
      expect(first.headers.get('Content-Type')).toBe('application/json; charset=utf-8');
      expect(first.headers.get('Cache-Control')).toBe('max-age=5');
      expect(first.headers.get('x-missing')).toBeNull();
      expect(await first.json()).toEqual({ data: { ok: '\u00e9' } });
      expect(await second.text()).toBe('{"data":{"ok":"\u00e9"}}');
      expect(seen.map((s) => [s.body, s.identity])).toEqual([
        ['{"query":"{ ok }"}', 't'],
        ['{"query":"{ ok }"}', 't'],
      ]);
      expect(seen[0]!.remotePort).toBe(seen[1]!.remotePort); // one kept-alive connection
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('passes non-2xx answers through, rejects malformed JSON on json(), and fails a silent subgraph with a TimeoutError', async () => {
    const { url, server } = await serve((request, response) => {
      if (request.url === '/slow') return; // never answers
      response.writeHead(request.url === '/bad' ? 400 : 200, { 'content-type': 'application/json' });
      response.end(request.url === '/bad' ? '{"errors":[]}' : 'not json');
    });
    try {
      const base = url.replace('/graphql', '');
      const fetcher = createSubgraphFetcher(url, 200);
      const bad = await fetcher(`${base}/bad`, { method: 'POST', body: '{}' });
      expect([bad.ok, bad.status]).toEqual([false, 400]);
      const garbled = await fetcher(url, { method: 'POST', body: '{}' });
      await expect(garbled.json()).rejects.toThrow(SyntaxError);
      await expect(fetcher(`${base}/slow`, { method: 'POST', body: '{}' })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('rejects with a connection error code when nothing listens', async () => {
    const { url, server } = await serve(() => undefined);
    server.close();
    await expect(
      createSubgraphFetcher(url, 1_000)(url, { method: 'POST', body: '{}' }),
    ).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
