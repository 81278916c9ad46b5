/**
 * `npm start` as a newcomer runs it: every service from one command on the embedded defaults,
 * a start-up banner with the URLs, data kept across a restart, clean shutdown on SIGTERM/SIGINT.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, gql, gqlOk, spawnNode } from './harness/index.ts';

let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-start-'));
  env = { ...process.env, DATA_DIR: dataDir, NODE_ENV: 'development', PORT: String(await freePort()) };
  // The embedded default is PGlite: make sure an outer DATABASE_URL does not leak in.
  delete env['DATABASE_URL'];
  for (const name of ['IDENTITY', 'LEDGER', 'ORDERS', 'MARKET_DATA', 'WALLETS', 'MATCHING_CORE']) {
    env[`${name}_PORT`] = String(await freePort());
    delete env[`${name}_URL`];
  }
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('starts everything, prints the URLs, keeps data across restarts and stops cleanly', async () => {
    const first = spawnNode('start', 'scripts/start.ts', env);
    const gatewayUrl = await first.waitFor(/GraphQL API\s+(\S+)/, 150_000);
    expect(first.output.join('\n')).toMatch(/GraphiQL\s+http:\/\/127\.0\.0\.1:\d+\/graphql/);
    for (const name of ['identity', 'ledger', 'orders', 'market-data', 'wallets']) {
      expect(first.output.join('\n')).toMatch(new RegExp(`${name}\\s+http://127\\.0\\.0\\.1:\\d+/graphql`));
    }
    expect(first.output.join('\n')).toMatch(/matching-core\s+ws:\/\/127\.0\.0\.1:\d+\/core/);
    expect((await fetch(gatewayUrl.replace(/\/graphql$/, '/health'))).status).toBe(200);
    await gqlOk(
      gatewayUrl,
      `mutation { register(input: { email: "carol@example.com", password: "persisted-pass-42" }) { accessToken } }`,
    );
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.output.join('\n')).toContain('GraphEx stopped.');

    const second = spawnNode('start', 'scripts/start.ts', env);
    const again = await second.waitFor(/GraphQL API\s+(\S+)/, 150_000);
    const login = await gql(
      again,
      `mutation { login(input: { email: "carol@example.com", password: "persisted-pass-42" }) { user { email } } }`,
    );
    expect(login.errors).toBeUndefined();
    expect(login.data).toEqual({ login: { user: { email: 'carol@example.com' } } });
    expect(await second.stop('SIGINT')).toBe(0);
  }, 400_000);

  it('says what to do when a port is taken', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    const port = Number(env['IDENTITY_PORT']);
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      const run = spawnNode('start', 'scripts/start.ts', env);
      const code = await new Promise<number | null>((resolve) => run.child.once('exit', resolve));
      expect(code).toBe(1);
      expect(run.output.join('\n')).toMatch(
        new RegExp(`Port ${port} for the identity subgraph is already in use.*IDENTITY_PORT`),
      );
    } finally {
      blocker.close();
    }
  });
});
