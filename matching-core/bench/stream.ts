/**
 * Seeded command-stream generators for the benchmark and the differential/property tests.
 * Outside the engine, so a PRNG is fine here; the same seed always yields the same stream.
 *
 * The generator picks cancel/amend targets among orders it believes are open; it learns that from
 * the events of the engine it drives (`observe`), so targets are realistic (mostly open orders).
 */
import type { Command, CommandInput, CoreEvent, PlaceOrderInput } from '@graphex/schema';
import {
  AssetIds,
  MarketIds,
  TestSequencer,
  limitOrder,
  referenceSetupCommands,
} from '../src/reference-setup.ts';

/** mulberry32: tiny, fast, seedable. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

interface Tracked {
  readonly orderId: number;
  readonly userId: number;
  readonly marketId: number;
  readonly side: 'BUY' | 'SELL';
  quantityLots: number;
}

/** Open-order tracking with O(1) random pick and removal. */
class OpenOrders {
  readonly list: Tracked[] = [];
  readonly index = new Map<number, number>();
  add(order: Tracked): void {
    this.index.set(order.orderId, this.list.length);
    this.list.push(order);
  }
  remove(orderId: number): void {
    const i = this.index.get(orderId);
    if (i === undefined) return;
    const last = this.list.pop()!;
    if (last.orderId !== orderId) {
      this.list[i] = last;
      this.index.set(last.orderId, i);
    }
    this.index.delete(orderId);
  }
  get size(): number {
    return this.list.length;
  }
}

export const BENCH_MID_PRICE_TICKS = 5_000_000; // 50,000.00 USDT
const BENCH_HALF_RANGE_TICKS = 760; // 1,000 orders occupy ~750 of these ~1,520 levels

export interface StreamGenerator {
  /** Commands that set up assets, markets and balances (not part of the measured mix). */
  setup(): Command[];
  next(): Command;
  observe(events: readonly CoreEvent[]): void;
  readonly openOrders: number;
}

function observeInto(open: OpenOrders, events: readonly CoreEvent[]): void {
  for (const event of events) {
    if (event.type === 'OrderAccepted') {
      if (event.quantityLots !== null) {
        open.add({
          orderId: event.orderId,
          userId: event.userId,
          marketId: event.marketId,
          side: event.side,
          quantityLots: event.quantityLots,
        });
      }
    } else if (event.type === 'OrderDone') open.remove(event.orderId);
    else if (event.type === 'OrderAmended') {
      const i = open.index.get(event.orderId);
      if (i !== undefined) open.list[i]!.quantityLots = event.quantityLots;
    }
  }
}

/**
 * The exchange-core benchmark mix on one book (BTC-USDT): 9 % GTC limit, 3 % IOC, 6 % cancel,
 * 82 % amend/move; ~1,000 resting orders over ~750 price levels; 1,000 users.
 */
export function benchGenerator(seed: number, users = 1_000, targetOpenOrders = 1_000): StreamGenerator {
  const rng = new Rng(seed);
  const sequencer = new TestSequencer();
  const open = new OpenOrders();
  const market = MarketIds.BTC_USDT;
  const mid = BENCH_MID_PRICE_TICKS;
  let prefilled = 0;

  const restingPrice = (side: 'BUY' | 'SELL'): number =>
    side === 'BUY' ? mid - rng.int(1, BENCH_HALF_RANGE_TICKS) : mid + rng.int(0, BENCH_HALF_RANGE_TICKS - 1);
  const newLimit = (timeInForce: 'GTC' | 'IOC'): PlaceOrderInput => {
    const side = rng.chance(0.5) ? 'BUY' : 'SELL';
    const userId = rng.int(1, users);
    if (timeInForce === 'IOC') {
      // Takes liquidity near the top of the book.
      const price = side === 'BUY' ? mid + rng.int(0, 20) : mid - rng.int(1, 21);
      return limitOrder(userId, market, side, price, rng.int(2, 20), { timeInForce });
    }
    return limitOrder(userId, market, side, restingPrice(side), rng.int(2, 50));
  };

  return {
    setup(): Command[] {
      const commands: Command[] = referenceSetupCommands.map((c) => sequencer.stamp(c));
      for (let userId = 1; userId <= users; userId += 1) {
        commands.push(
          sequencer.stamp({ type: 'Deposit', userId, assetId: AssetIds.USDT, amountUnits: 10n ** 15n }),
        );
        commands.push(
          sequencer.stamp({ type: 'Deposit', userId, assetId: AssetIds.BTC, amountUnits: 10n ** 12n }),
        );
      }
      return commands;
    },
    next(): Command {
      if (prefilled < targetOpenOrders) {
        prefilled += 1;
        return sequencer.stamp(newLimit('GTC'));
      }
      const roll = rng.next();
      let input: CommandInput;
      // Keep the book near its target depth: IOCs and crossing moves consume resting orders, so
      // a cancel below the target becomes a new GTC order (and a GTC above 110 % a cancel).
      const belowTarget = open.size < targetOpenOrders;
      const aboveTarget = open.size > targetOpenOrders * 1.1;
      if (open.size === 0 || (roll < 0.09 && !aboveTarget)) input = newLimit('GTC');
      else if (roll >= 0.09 && roll < 0.12) input = newLimit('IOC');
      else if (roll >= 0.12 && roll < 0.18 && belowTarget) input = newLimit('GTC');
      else if (roll < 0.18) {
        const target = rng.pick(open.list);
        input = { type: 'CancelOrder', userId: target.userId, orderId: target.orderId };
      } else {
        const target = rng.pick(open.list);
        // Move within its own side; ~2 % cross the spread and trade.
        const price = rng.chance(0.02)
          ? restingPrice(target.side === 'BUY' ? 'SELL' : 'BUY')
          : restingPrice(target.side);
        input = {
          type: 'AmendOrder',
          userId: target.userId,
          orderId: target.orderId,
          priceTicks: price,
          quantityLots: null,
        };
      }
      return sequencer.stamp(input);
    },
    observe(events) {
      observeInto(open, events);
    },
    get openOrders() {
      return open.size;
    },
  };
}

/**
 * A rich stream for differential and property tests: every command type, order type, TIF and STP
 * mode, three markets (including 18-decimal ETH), clientOrderId retries, wallet operations,
 * halts, and some invalid input.
 */
export function richGenerator(seed: number, users = 50): StreamGenerator {
  const rng = new Rng(seed);
  const sequencer = new TestSequencer();
  const open = new OpenOrders();
  const markets = [
    { id: MarketIds.BTC_USDT, mid: 5_000_000, range: 60 },
    { id: MarketIds.ETH_USDT, mid: 300_000, range: 40 },
    { id: MarketIds.ETH_BTC, mid: 60_000, range: 30 },
  ] as const;
  const recentClientIds: { userId: number; input: PlaceOrderInput }[] = [];
  const withdrawals: number[] = [];
  let nextWithdrawalId = 1;
  let nextClientOrderId = 1;
  const halted = new Set<number>();

  const stps = ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'] as const;
  const assets = [AssetIds.BTC, AssetIds.ETH, AssetIds.USDT] as const;
  const bigAmount = (assetId: number): bigint => {
    if (assetId === AssetIds.ETH) return BigInt(rng.int(1, 50)) * 10n ** 18n + BigInt(rng.int(0, 1_000_000));
    if (assetId === AssetIds.BTC) return BigInt(rng.int(1, 300)) * 10n ** 7n + BigInt(rng.int(0, 999));
    return BigInt(rng.int(1, 500_000)) * 10n ** 6n + BigInt(rng.int(0, 999));
  };

  const placement = (): PlaceOrderInput => {
    const m = rng.pick(markets);
    const side = rng.chance(0.5) ? 'BUY' : 'SELL';
    const userId = rng.int(1, users);
    // Mostly on its own side of the mid (builds depth), sometimes anywhere (trades).
    const price = rng.chance(0.7)
      ? side === 'BUY'
        ? m.mid - rng.int(0, m.range)
        : m.mid + rng.int(0, m.range)
      : m.mid + rng.int(-m.range, m.range);
    const qty = rng.int(1, 400);
    const stp = rng.chance(0.7) ? 'NONE' : rng.pick(stps);
    const clientOrderId = rng.chance(0.1) ? `c${nextClientOrderId++}` : null;
    const kind = rng.next();
    let input: PlaceOrderInput;
    if (kind < 0.6) {
      const tif = rng.chance(0.8) ? 'GTC' : rng.chance(0.5) ? 'IOC' : 'FOK';
      input = limitOrder(userId, m.id, side, price, qty, {
        timeInForce: tif,
        postOnly: tif === 'GTC' && rng.chance(0.1),
        selfTradePrevention: stp,
        clientOrderId,
      });
    } else if (kind < 0.75) {
      const byBudget = side === 'BUY' && rng.chance(0.4);
      input = limitOrder(userId, m.id, side, 0, 0, {
        orderType: 'MARKET',
        timeInForce: !byBudget && rng.chance(0.2) ? 'FOK' : 'IOC',
        priceTicks: null,
        quantityLots: byBudget ? null : rng.int(1, 100),
        quoteBudgetUnits: byBudget ? BigInt(rng.int(1, 2_000_000_000)) : null,
        selfTradePrevention: stp,
        clientOrderId,
      });
    } else if (kind < 0.88) {
      input = limitOrder(userId, m.id, side, price, qty, {
        orderType: 'STOP_LIMIT',
        stopPriceTicks: m.mid + rng.int(-m.range, m.range),
        selfTradePrevention: stp,
        clientOrderId,
      });
    } else if (kind < 0.95) {
      input = limitOrder(userId, m.id, side, 0, 0, {
        orderType: 'STOP_MARKET',
        timeInForce: 'IOC',
        priceTicks: null,
        stopPriceTicks: m.mid + rng.int(-m.range, m.range),
        quantityLots: side === 'SELL' ? rng.int(1, 100) : null,
        quoteBudgetUnits: side === 'BUY' ? BigInt(rng.int(1, 2_000_000_000)) : null,
        selfTradePrevention: stp,
        clientOrderId,
      });
    } else {
      // Invalid on purpose: zero quantity, or a market order with a price.
      input = limitOrder(
        userId,
        m.id,
        side,
        price,
        rng.chance(0.5) ? 0 : qty,
        rng.chance(0.5) ? { orderType: 'MARKET', timeInForce: 'IOC' } : {},
      );
    }
    if (input.clientOrderId !== null) {
      recentClientIds.push({ userId, input });
      if (recentClientIds.length > 100) recentClientIds.shift();
    }
    return input;
  };

  return {
    setup(): Command[] {
      const commands: Command[] = referenceSetupCommands.map((c) => sequencer.stamp(c));
      for (let userId = 1; userId <= users; userId += 1) {
        for (const assetId of assets)
          commands.push(
            sequencer.stamp({ type: 'Deposit', userId, assetId, amountUnits: bigAmount(assetId) * 10n }),
          );
      }
      return commands;
    },
    next(): Command {
      const roll = rng.next();
      let input: CommandInput;
      if (halted.size > 0 && rng.chance(0.05)) {
        // Halts are short: resume soon so most of the stream trades.
        const marketId = [...halted][0]!;
        halted.delete(marketId);
        return sequencer.stamp({ type: 'ResumeMarket', marketId });
      }
      if (roll < 0.4 || open.size === 0) input = placement();
      else if (roll < 0.62) {
        const t = rng.pick(open.list);
        const m = markets.find((x) => x.id === t.marketId)!;
        const priceChange = rng.chance(0.6);
        input = {
          type: 'AmendOrder',
          userId: rng.chance(0.02) ? t.userId + 1 : t.userId,
          orderId: t.orderId,
          priceTicks: priceChange ? m.mid + rng.int(-m.range, m.range) : null,
          quantityLots:
            priceChange && rng.chance(0.5) ? null : Math.max(1, t.quantityLots + rng.int(-20, 10)),
        };
      } else if (roll < 0.68) {
        const t = rng.pick(open.list);
        input = {
          type: 'CancelOrder',
          userId: t.userId,
          orderId: rng.chance(0.03) ? t.orderId + 1 : t.orderId,
        };
      } else if (roll < 0.71 && recentClientIds.length > 0) {
        const retry = rng.pick(recentClientIds);
        input = rng.chance(0.5)
          ? retry.input
          : { ...retry.input, quantityLots: (retry.input.quantityLots ?? 1) + 1 };
      } else if (roll < 0.72) {
        input = {
          type: 'CancelAll',
          userId: rng.int(1, users),
          marketId: rng.chance(0.5) ? rng.pick(markets).id : null,
        };
      } else if (roll < 0.76) {
        const assetId = rng.pick(assets);
        input = { type: 'Deposit', userId: rng.int(1, users), assetId, amountUnits: bigAmount(assetId) };
      } else if (roll < 0.79) {
        const assetId = rng.pick(assets);
        const withdrawalId = nextWithdrawalId++;
        withdrawals.push(withdrawalId);
        input = {
          type: 'WithdrawHold',
          userId: rng.int(1, users),
          assetId,
          withdrawalId,
          amountUnits: bigAmount(assetId) / 4n,
        };
      } else if (roll < 0.82 && withdrawals.length > 0) {
        const withdrawalId = withdrawals.splice(rng.int(0, withdrawals.length - 1), 1)[0]!;
        input = { type: rng.chance(0.5) ? 'WithdrawSettle' : 'WithdrawRelease', withdrawalId };
      } else if (roll < 0.84) {
        const assetId = rng.pick(assets);
        const amount = bigAmount(assetId) / 10n;
        input = {
          type: 'AdminAdjust',
          userId: rng.int(1, users),
          assetId,
          amountUnits: rng.chance(0.5) ? amount : -amount,
        };
      } else if (roll < 0.842) {
        const m = rng.pick(markets).id;
        input = { type: 'HaltMarket', marketId: m }; // halting a halted market is refused (tested)
        halted.add(m);
      } else input = placement();
      return sequencer.stamp(input);
    },
    observe(events) {
      observeInto(open, events);
    },
    get openOrders() {
      return open.size;
    },
  };
}
