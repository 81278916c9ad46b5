import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreEvent } from '@graphex/schema';
import { afterEach, describe, expect, it } from 'vitest';
import { AssetIds, MarketIds, limitOrder, referenceSetupCommands } from './reference-setup.ts';
import { startCoreWorker } from './worker-host.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('core worker host', () => {
  it('acknowledges after durability, streams events in order, and recovers after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'graphex-worker-'));
    dirs.push(dataDir);
    const core = await startCoreWorker({ dataDir, maxInFlight: 4, snapshotEveryCommands: 50 });
    expect(core.recovery.lastSeq).toBe(0);
    const listened: CoreEvent[] = [];
    core.onEvents((events) => listened.push(...events));
    const iterated: CoreEvent[] = [];
    const consumer = (async () => {
      for await (const event of core.events()) iterated.push(event);
    })();
    for (const command of referenceSetupCommands) expect((await core.submit(command)).code).toBe(0);
    await Promise.all([
      core.submit({ type: 'Deposit', userId: 1, assetId: AssetIds.USDT, amountUnits: 10n ** 12n }),
      core.submit({ type: 'Deposit', userId: 2, assetId: AssetIds.BTC, amountUnits: 10n ** 10n }),
    ]);
    // 100 concurrent submits through a window of 4: all resolve, in sequence order.
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        core.submit(
          limitOrder(1 + (i % 2), MarketIds.BTC_USDT, i % 2 ? 'SELL' : 'BUY', 5_000_000 + (i % 5) - 2, 3),
        ),
      ),
    );
    const seqs = results.map((r) => r.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(results.every((r) => r.code === 0)).toBe(true);
    const hash = await core.stateHash();
    await core.close();
    await consumer;
    expect(listened.length).toBeGreaterThan(100);
    expect(listened.map((e) => e.eventSeq)).toEqual(listened.map((_, i) => i + 1));
    expect(iterated).toEqual(listened);
    expect(listened.some((e) => e.type === 'Trade')).toBe(true);

    const again = await startCoreWorker({ dataDir });
    expect(again.recovery.lastSeq).toBe(results.at(-1)!.seq);
    expect(again.recovery.snapshotSeq).toBeGreaterThan(0);
    expect(await again.stateHash()).toBe(hash);
    const next = await again.submit({ type: 'CancelAll', userId: 1, marketId: null });
    expect(next.seq).toBe(results.at(-1)!.seq + 1);
    await again.close();
  });

  it('applies backpressure when the event consumer lags', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'graphex-worker-'));
    dirs.push(dataDir);
    const core = await startCoreWorker({ dataDir, maxBufferedEvents: 3 });
    const iterator = core.events();
    for (const command of referenceSetupCommands.slice(0, 3)) await core.submit(command); // 3 events buffered
    let resolved = false;
    const blocked = core.submit(referenceSetupCommands[3]!).then((r) => {
      resolved = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(resolved).toBe(false); // buffer at the limit: the submit waits for the consumer
    expect((await iterator.next()).value).toMatchObject({ type: 'AssetAdded', assetId: AssetIds.BTC });
    expect((await blocked).code).toBe(0);
    await iterator.return!();
    await core.close();
  });
});
