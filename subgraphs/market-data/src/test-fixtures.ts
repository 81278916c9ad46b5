/**
 * Test support: a real in-process matching core in a temporary directory and the commands a
 * scenario needs (fund users, place limit orders). Integration tests produce their events with
 * it — never by hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AssetIds,
  MarketIds,
  createInProcessCoreClient,
  type InProcessCoreClient,
} from '@graphex/matching-core';
import type { CoreClient, CoreCommand, PublicCoreEvent, Side } from '@graphex/schema';

export { AssetIds, MarketIds };

export interface TestCore {
  readonly core: InProcessCoreClient;
  readonly dataDir: string;
  dispose(): Promise<void>;
}

export async function startTestCore(): Promise<TestCore> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-md-core-'));
  const core = await createInProcessCoreClient({ dataDir });
  return {
    core,
    dataDir,
    dispose: async () => {
      await core.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Credits a user with plenty of every reference asset. */
export async function fund(core: CoreClient, userId: string): Promise<void> {
  const amounts: Array<[number, bigint]> = [
    [AssetIds.BTC, 1_000n * 10n ** 8n],
    [AssetIds.ETH, 10_000n * 10n ** 18n],
    [AssetIds.USDT, 1_000_000_000n * 10n ** 6n],
  ];
  for (const [assetId, amountUnits] of amounts) {
    const { result } = await core.submit({ type: 'Deposit', userId, assetId, amountUnits });
    if (result.code !== 0) throw new Error(`deposit failed with ${result.code}`);
  }
}

/** A GTC limit order (BTC-USDT by default: tick 0.01 USDT, lot 0.00001 BTC). */
export function limit(
  userId: string,
  side: Side,
  priceTicks: number,
  quantityLots: number,
  marketId: number = MarketIds.BTC_USDT,
): CoreCommand {
  return {
    type: 'PlaceOrder',
    userId,
    marketId,
    side,
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    priceTicks,
    stopPriceTicks: null,
    quantityLots,
    quoteBudgetUnits: null,
    postOnly: false,
    selfTradePrevention: 'NONE',
    clientOrderId: null,
  };
}

export async function place(core: CoreClient, command: CoreCommand): Promise<number> {
  const { result } = await core.submit(command);
  if (result.code !== 0) throw new Error(`order refused with ${result.code}`);
  return result.orderId!;
}

/** Every event of the core's log so far. */
export async function allEvents(core: CoreClient): Promise<PublicCoreEvent[]> {
  const last = await core.lastEventSeq();
  const events: PublicCoreEvent[] = [];
  await new Promise<void>((resolve, reject) => {
    const subscription = core.subscribe(
      0,
      (batch) => {
        events.push(...batch);
        if (events[events.length - 1]!.eventSeq >= last) {
          void subscription.close();
          resolve();
        }
      },
      reject,
    );
    if (last === 0) {
      void subscription.close();
      resolve();
    }
  });
  return events.filter((event) => event.eventSeq <= last);
}

/** Polls until `check` holds (tests only). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A book scenario: two funded users, resting orders on both sides, then crossing orders that trade. */
export async function tradeScenario(core: CoreClient, users: readonly [string, string]): Promise<void> {
  const [maker, taker] = users;
  await fund(core, maker);
  await fund(core, taker);
  // Asks 30000.00 .. 30004.00 and bids 29990.00 .. 29986.00, 0.001 BTC each (100 lots).
  for (let i = 0; i < 5; i++) {
    await place(core, limit(maker, 'SELL', 3_000_000 + i * 100, 100));
    await place(core, limit(maker, 'BUY', 2_999_000 - i * 100, 100));
  }
  // Crossing: taker buys 0.0015 BTC up to 30001.00 (fills 30000.00 fully, 30001.00 partly), then sells into the bids.
  await place(core, limit(taker, 'BUY', 3_000_100, 150));
  await place(core, limit(taker, 'SELL', 2_998_900, 120));
}
