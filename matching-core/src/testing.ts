/**
 * Test harness: an engine with the reference assets and markets, a sequencer, and helpers that
 * read balances. Invariants are checked after every command.
 */
import type { CommandInput, CommandResult, CoreEvent, PlaceOrderInput } from '@graphex/schema';
import { MatchingEngine, type EngineConfig } from './engine.ts';
import { TestSequencer, limitOrder, referenceSetupCommands } from './reference-setup.ts';

export class EngineHarness {
  readonly engine: MatchingEngine;
  readonly sequencer = new TestSequencer();
  lastEvents: CoreEvent[] = [];
  readonly allEvents: CoreEvent[] = [];

  constructor(config: Partial<EngineConfig> = {}) {
    this.engine = new MatchingEngine({ invariantCheckInterval: 1, ...config });
    for (const command of referenceSetupCommands) this.run(command);
  }

  run(input: CommandInput): CommandResult {
    const { result, events } = this.engine.execute(this.sequencer.stamp(input));
    this.lastEvents = events;
    for (const event of events) this.allEvents.push(event);
    return result;
  }

  deposit(userId: number, assetId: number, amountUnits: bigint): void {
    const result = this.run({ type: 'Deposit', userId, assetId, amountUnits });
    if (result.code !== 0) throw new Error(`deposit failed ${result.code}`);
  }

  limit(
    userId: number,
    marketId: number,
    side: 'BUY' | 'SELL',
    priceTicks: number,
    quantityLots: number,
    extra: Partial<Omit<PlaceOrderInput, 'type'>> = {},
  ): CommandResult {
    return this.run(limitOrder(userId, marketId, side, priceTicks, quantityLots, extra));
  }

  market(
    userId: number,
    marketId: number,
    side: 'BUY' | 'SELL',
    quantityLots: number | null,
    quoteBudgetUnits: bigint | null = null,
    extra: Partial<Omit<PlaceOrderInput, 'type'>> = {},
  ): CommandResult {
    return this.run(
      limitOrder(userId, marketId, side, 0, 0, {
        orderType: 'MARKET',
        timeInForce: 'IOC',
        priceTicks: null,
        quantityLots,
        quoteBudgetUnits,
        ...extra,
      }),
    );
  }

  available(userId: number, assetId: number): bigint {
    return this.engine.users.get(userId)?.availableUnits[assetId] ?? 0n;
  }

  locked(userId: number, assetId: number): bigint {
    return this.engine.users.get(userId)?.lockedUnits[assetId] ?? 0n;
  }

  eventsOf<T extends CoreEvent['type']>(
    type: T,
    events: readonly CoreEvent[] = this.lastEvents,
  ): Extract<CoreEvent, { type: T }>[] {
    return events.filter((e): e is Extract<CoreEvent, { type: T }> => e.type === type);
  }
}
