import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CoreCommand, PublicCoreEvent } from '@graphex/schema';
import { AssetIds, MarketIds } from '../reference-setup.ts';
import { createInProcessCoreClient, type InProcessCoreClient } from './in-process.ts';

const alice = '0b6f7c8e-0000-4000-8000-00000000a11c';
const bob = '0b6f7c8e-0000-4000-8000-000000000b0b';

function limit(userId: string, side: 'BUY' | 'SELL', priceTicks: number, quantityLots: number): CoreCommand {
  return {
    type: 'PlaceOrder',
    userId,
    marketId: MarketIds.BTC_USDT,
    side,
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    priceTicks,
    stopPriceTicks: null,
    quantityLots,
    quoteBudgetUnits: null,
    postOnly: false,
    selfTradePrevention: 'EXPIRE_TAKER',
    clientOrderId: null,
  };
}

async function collect(
  client: InProcessCoreClient,
  after: number,
  until: number,
): Promise<PublicCoreEvent[]> {
  const got: PublicCoreEvent[] = [];
  await new Promise<void>((resolve, reject) => {
    const subscription = client.subscribe(
      after,
      (events) => {
        got.push(...events);
        if (got[got.length - 1]!.eventSeq >= until) void subscription.close().then(resolve);
      },
      reject,
    );
  });
  return got;
}

let dataDir: string;
let client: InProcessCoreClient;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-core-client-'));
  client = await createInProcessCoreClient({ dataDir });
});

afterEach(async () => {
  await client.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function trade(): Promise<void> {
  await client.submit({
    type: 'Deposit',
    userId: alice,
    assetId: AssetIds.USDT,
    amountUnits: 1_000_000_000n,
  });
  await client.submit({ type: 'Deposit', userId: bob, assetId: AssetIds.BTC, amountUnits: 100_000_000n });
  await client.submit(limit(bob, 'SELL', 5_000_000, 100)); // 50,000.00 USDT, 0.001 BTC
}

describe('in-process CoreClient', () => {
  it('seeds the reference markets once and answers a command with its own events (user ids as UUIDs)', async () => {
    await trade();
    const outcome = await client.submit(limit(alice, 'BUY', 5_000_000, 100));
    expect(outcome.result.code).toBe(0);
    expect(outcome.result.status).toBe('FILLED');
    const tradeEvent = outcome.events.find((event) => event.type === 'Trade');
    expect(tradeEvent).toMatchObject({ makerUserId: bob, takerUserId: alice, baseUnits: 100_000n });
    expect(outcome.events.every((event) => event.seq === outcome.result.seq)).toBe(true);
    const balances = outcome.events.filter((event) => event.type === 'BalanceChanged');
    expect(balances.map((event) => event.userId).sort()).toEqual([alice, alice, bob, bob].sort());
  });

  it('replays the log from any point, then follows live, in contiguous eventSeq order', async () => {
    await trade();
    const last = await client.lastEventSeq();
    const all = await collect(client, 0, last);
    expect(all.map((event) => event.eventSeq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(all.filter((event) => event.type === 'MarketAdded')).toHaveLength(3);
    const tail = await collect(client, last - 2, last);
    expect(tail).toEqual(all.slice(-2));

    const live = collect(client, last, last + 1);
    await client.submit({ type: 'Deposit', userId: alice, assetId: AssetIds.ETH, amountUnits: 10n ** 18n });
    expect((await live)[0]).toMatchObject({ type: 'FundsMoved', userId: alice, amountUnits: 10n ** 18n });
  });

  it('keeps users, journal and event log across a restart', async () => {
    await trade();
    const before = await collect(client, 0, await client.lastEventSeq());
    const hash = await client.stateHash();
    await client.close();
    client = await createInProcessCoreClient({ dataDir });
    expect(await client.stateHash()).toBe(hash);
    expect(await collect(client, 0, before.length)).toEqual(before);
    // The same UUID maps to the same core user after restart: her order trades against bob's.
    const outcome = await client.submit(limit(alice, 'BUY', 5_000_000, 100));
    expect(outcome.events.find((event) => event.type === 'Trade')).toMatchObject({ makerUserId: bob });
  });

  it('regenerates events lost between the journal fsync and the event log (torn log tail)', async () => {
    await trade();
    const before = await collect(client, 0, await client.lastEventSeq());
    await client.close();
    const logPath = path.join(dataDir, 'events.log');
    const text = await readFile(logPath, 'utf8');
    const lines = text.trimEnd().split('\n');
    // Drop the last batch and leave half of it, as a crash mid-write would.
    const lastLine = lines.pop()!;
    await writeFile(logPath, lines.join('\n') + '\n' + lastLine.slice(0, lastLine.length / 2));
    client = await createInProcessCoreClient({ dataDir });
    expect(await collect(client, 0, before.length)).toEqual(before);
  });

  it('regenerates a log tail a power cut left as garbage (the log is not fsynced per batch)', async () => {
    await trade();
    const before = await collect(client, 0, await client.lastEventSeq());
    await client.close();
    const logPath = path.join(dataDir, 'events.log');
    const lines = (await readFile(logPath, 'utf8')).trimEnd().split('\n');
    // The last two batches' blocks never reached the disk: zeros, and a line that is not a batch.
    lines.splice(-2);
    await writeFile(logPath, lines.join('\n') + '\n' + '\u0000'.repeat(300) + '\n{"lastSeq":\n');
    client = await createInProcessCoreClient({ dataDir });
    expect(await collect(client, 0, before.length)).toEqual(before);
    // The regenerated tail is well formed: a second restart reads it back as it is.
    await client.close();
    client = await createInProcessCoreClient({ dataDir });
    expect(await collect(client, 0, before.length)).toEqual(before);
  });

  it('refuses malformed user ids without touching the journal', async () => {
    const seqBefore = await client.lastEventSeq();
    await expect(
      client.submit({ type: 'Deposit', userId: 'bad id\n', assetId: 1, amountUnits: 1n }),
    ).rejects.toThrow(RangeError);
    expect(await client.lastEventSeq()).toBe(seqBefore);
  });
});
