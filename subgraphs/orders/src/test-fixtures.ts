/**
 * Test support: public core events built by hand (for read-model tests that need exact ids and
 * times), and a CoreClient that never delivers anything (for services whose read model a test
 * fills itself). Scenario tests use the real in-process core instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createInProcessCoreClient,
  referenceSetupCommands,
  type InProcessCoreClient,
} from '@graphex/matching-core';
import type { CoreClient, PublicCoreEvent } from '@graphex/schema';

type Accepted = Extract<PublicCoreEvent, { type: 'OrderAccepted' }>;

/** Markets of the reference setup: BTC-USDT 1, ETH-USDT 2, ETH-BTC 3. */
const marketIds: Record<string, number> = { 'BTC-USDT': 1, 'ETH-USDT': 2, 'ETH-BTC': 3 };

/** A hand-driven public event log: the reference catalog first, then what a test appends. */
export class SyntheticEvents {
  eventSeq = 0;
  seq = 0;
  readonly log: PublicCoreEvent[] = [];

  constructor() {
    for (const command of referenceSetupCommands) {
      this.seq++;
      if (command.type === 'AddAsset') {
        this.#push(
          {
            type: 'AssetAdded',
            assetId: command.assetId,
            symbol: command.symbol,
            decimals: command.decimals,
          },
          0,
        );
      } else {
        const { type: _type, ...market } = command;
        this.#push({ type: 'MarketAdded', market }, 0);
      }
    }
  }

  #push(event: Record<string, unknown>, timeMs: number): PublicCoreEvent {
    const full = { eventSeq: ++this.eventSeq, seq: this.seq, timeMs, ...event } as PublicCoreEvent;
    this.log.push(full);
    return full;
  }

  /** A resting GTC limit order accepted by its own command. BTC-USDT price 30000.01, quantity 0.5 by default. */
  accepted(
    overrides: Partial<Omit<Accepted, 'type' | 'eventSeq' | 'seq' | 'marketId'>> & {
      readonly userId: string;
      readonly symbol?: string;
    },
  ): PublicCoreEvent {
    this.seq++;
    const { symbol = 'BTC-USDT', ...rest } = overrides;
    return this.#push(
      {
        type: 'OrderAccepted',
        orderId: this.seq,
        marketId: marketIds[symbol]!,
        side: 'BUY',
        orderType: 'LIMIT',
        timeInForce: 'GTC',
        priceTicks: 3_000_001,
        stopPriceTicks: null,
        quantityLots: 50_000,
        quoteBudgetUnits: null,
        postOnly: false,
        selfTradePrevention: 'EXPIRE_TAKER',
        clientOrderId: null,
        status: 'OPEN',
        holdUnits: 0n,
        ...rest,
        timeMs: rest.timeMs ?? Date.UTC(2026, 0, 1),
      },
      rest.timeMs ?? Date.UTC(2026, 0, 1),
    );
  }

  /** The order `orderId` cancelled by a command of its own. */
  cancelled(orderId: number, userId: string, timeMs = Date.UTC(2026, 0, 2)): PublicCoreEvent {
    this.seq++;
    const accepted = this.log.find((e) => e.type === 'OrderAccepted' && e.orderId === orderId) as
      Accepted | undefined;
    return this.#push(
      {
        type: 'OrderDone',
        orderId,
        userId,
        marketId: accepted?.marketId ?? 1,
        status: 'CANCELLED',
        reason: 'CANCELLED',
        filledLots: 0,
        remainingLots: accepted?.quantityLots ?? 0,
      },
      timeMs,
    );
  }
}

/** A core that has nothing to say: the service's projection stays idle at position 0. */
export const idleCore: CoreClient = {
  submit: () => Promise.reject(new Error('idle core: no commands')),
  subscribe: () => ({ close: async () => undefined }),
  lastEventSeq: async () => 0,
  close: async () => undefined,
};

export interface TestCore {
  readonly core: InProcessCoreClient;
  dispose(): Promise<void>;
}

/** The real core in a worker thread, journal in a fresh temporary directory, reference markets seeded. */
export async function startTestCore(): Promise<TestCore> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'graphex-orders-core-'));
  const core = await createInProcessCoreClient({ dataDir });
  return {
    core,
    dispose: async () => {
      await core.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
