/** Black-box tests of the core service over a real WebSocket, through the remote CoreClient. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { CoreClient, PublicCoreEvent } from '@graphex/schema';
import { signServiceToken } from '@graphex/runtime';
import { testConfig, testLogger } from '@graphex/runtime/testing';
import { AssetIds } from '../reference-setup.ts';
import { connectCoreClient } from './remote-client.ts';
import { startCoreService, type RunningCoreService } from './server.ts';

const config = testConfig();
const user = '5b2a7c1e-1111-4000-8000-0000000000aa';
let dataDir: string;
let service: RunningCoreService;
let client: CoreClient;

async function start(port = 0): Promise<void> {
  service = await startCoreService(config, { port, logger: testLogger, dataDir });
}

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-core-service-'));
  await start();
  client = connectCoreClient({
    url: service.url,
    internalTokenSecret: config.internalTokenSecret,
    serviceName: 'test',
  });
});

afterEach(async () => {
  await client.close();
  await service.close();
  await rm(dataDir, { recursive: true, force: true });
});

function until(events: PublicCoreEvent[], predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`timed out with ${events.length} events`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

describe('core service', () => {
  it('answers a command with its result and events once durable', async () => {
    const outcome = await client.submit({
      type: 'Deposit',
      userId: user,
      assetId: AssetIds.ETH,
      amountUnits: 123456789012345678901n,
    });
    expect(outcome.result.code).toBe(0);
    expect(outcome.events).toContainEqual(
      expect.objectContaining({
        type: 'BalanceChanged',
        userId: user,
        availableUnits: 123456789012345678901n,
      }),
    );
  });

  it('streams the event log from 0 with backpressure, and resumes after a core restart', async () => {
    await client.submit({ type: 'Deposit', userId: user, assetId: AssetIds.BTC, amountUnits: 1n });
    const seen: PublicCoreEvent[] = [];
    const subscription = client.subscribe(0, async (events) => {
      seen.push(...events);
      await new Promise((resolve) => setTimeout(resolve, 5)); // a slow projection
    });
    const first = await client.lastEventSeq();
    await until(seen, () => seen.length >= first);

    const port = service.port;
    await service.close();
    await start(port);
    // The remote client reconnects by itself; submit waits for the connection.
    await client.submit({ type: 'Deposit', userId: user, assetId: AssetIds.BTC, amountUnits: 2n });
    const last = await client.lastEventSeq();
    await until(seen, () => seen.length >= last);
    expect(seen.map((event) => event.eventSeq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    await subscription.close();
  });

  it('refuses connections without a valid service token', async () => {
    const refused = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(service.url, { headers });
        ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        ws.on('open', () => resolve(101));
      });
    expect(await refused({})).toBe(401);
    expect(
      await refused({ authorization: `Bearer ${await signServiceToken('x', 'wrong-secret-'.repeat(4))}` }),
    ).toBe(401);
    expect(
      await refused({ authorization: `Bearer ${await signServiceToken('x', config.internalTokenSecret)}` }),
    ).toBe(101);
  });

  it('closes a connection that sends an invalid message, without affecting others', async () => {
    const token = await signServiceToken('bad', config.internalTokenSecret);
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(service.url, { headers: { authorization: `Bearer ${token}` } });
      ws.on('open', () => ws.send('{"op":"submit","id":-1}'));
      ws.on('close', (closeCode) => resolve(closeCode));
    });
    expect(code).toBe(4400);
    const outcome = await client.submit({
      type: 'Deposit',
      userId: user,
      assetId: AssetIds.USDT,
      amountUnits: 5n,
    });
    expect(outcome.result.code).toBe(0);
  });

  it('answers a burst of submits (sent and answered in batched frames) each with its own result', async () => {
    const amounts = Array.from({ length: 300 }, (_, i) => BigInt(i + 1));
    const outcomes = await Promise.all(
      amounts.map((amountUnits) =>
        client.submit({ type: 'Deposit', userId: user, assetId: AssetIds.USDT, amountUnits }),
      ),
    );
    let balance = 0n;
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.result.code).toBe(0);
      balance += amounts[i]!;
      expect(outcome.events).toContainEqual(
        expect.objectContaining({ type: 'BalanceChanged', userId: user, availableUnits: balance }),
      );
    }
  });

  it('takes a JSON array of messages as a batch, and closes on a batch with one invalid message', async () => {
    const token = await signServiceToken('raw', config.internalTokenSecret);
    const ws = new WebSocket(service.url, { headers: { authorization: `Bearer ${token}` } });
    const replies: unknown[] = [];
    ws.on('message', (data) => {
      const decoded: unknown = JSON.parse(String(data));
      replies.push(...(Array.isArray(decoded) ? decoded : [decoded]));
    });
    await new Promise((resolve) => ws.on('open', resolve));
    ws.send('[{"op":"lastEventSeq","id":1},{"op":"lastEventSeq","id":2}]');
    await until([], () => replies.length === 2);
    expect(replies).toEqual([
      { op: 'value', id: 1, value: expect.any(Number) },
      { op: 'value', id: 2, value: expect.any(Number) },
    ]);
    const code = await new Promise<number>((resolve) => {
      ws.on('close', (closeCode) => resolve(closeCode));
      ws.send('[{"op":"lastEventSeq","id":3},{"op":"submit","id":-1}]');
    });
    expect(code).toBe(4400);
    expect(replies).toHaveLength(2);
  });
});
