/**
 * The money trail, pure: each core event kind books the balanced transaction of the chart, and a
 * whole trading session of a real in-process core (deposits, limit/market/IOC/FOK/stop orders,
 * amendments, cancels, withdrawals, admin adjustments) journals so that after every command the
 * ledger equals the core's reported totals, every transaction balances and conservation holds —
 * whatever the batch boundaries. A core that reports totals the journal cannot explain stops it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AssetIds,
  MarketIds,
  createInProcessCoreClient,
  limitOrder,
  type InProcessCoreClient,
} from '@graphex/matching-core';
import type { CoreCommand, PublicCoreEvent } from '@graphex/schema';
import { ledgerAccountKey, type LedgerAccountRef, type UserBucket } from './accounts.ts';
import { AssetCatalog } from './core-catalog.ts';
import { accountsTouchedBy, CoreJournalError, journalCoreEvents, type JournalBatch } from './core-journal.ts';
import { assertBalanced, totalsByCurrency, type AccountState } from './journal.ts';

const alice = '6f1c8e02-4a7b-4c3d-9e1f-0a1b2c3d4e5f';
const bob = '0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d';

function referenceCatalog(): AssetCatalog {
  const catalog = new AssetCatalog();
  catalog.add({ assetId: 1, symbol: 'BTC', decimals: 8 });
  catalog.add({ assetId: 3, symbol: 'USDT', decimals: 6 });
  catalog.addMarket({ marketId: 1, symbol: 'BTC-USDT', baseAssetId: 1, quoteAssetId: 3 });
  return catalog;
}

/** Applies a batch's account changes to `state` (what the store does). */
function adopt(state: Map<string, AccountState>, batch: JournalBatch): void {
  for (const [key, { after }] of batch.accounts) state.set(key, after);
}

const base = { seq: 1, timeMs: 1_700_000_000_000 };
let nextEventSeq = 1;
const stamp = <T extends object>(event: T, seq = 1) => ({ ...base, seq, eventSeq: nextEventSeq++, ...event });

const balanceChanged = (
  userId: string,
  assetId: number,
  availableUnits: bigint,
  lockedUnits: bigint,
  seq = 1,
) => stamp({ type: 'BalanceChanged' as const, userId, assetId, availableUnits, lockedUnits }, seq);

const fundsMoved = (
  kind: 'DEPOSIT' | 'WITHDRAW_HOLD' | 'WITHDRAW_SETTLE' | 'WITHDRAW_RELEASE' | 'ADMIN_ADJUST',
  amountUnits: bigint,
  seq = 1,
) =>
  stamp(
    {
      type: 'FundsMoved' as const,
      kind,
      userId: alice,
      assetId: 1,
      amountUnits,
      withdrawalId: kind.startsWith('WITHDRAW') ? 7 : null,
    },
    seq,
  );

/** Entries as [account, side, amount] for compact expectations. */
const shape = (batch: JournalBatch) =>
  batch.transactions.map((t) => [
    t.kind,
    t.entries.map(
      (e) => `${e.side === 'DEBIT' ? 'Dr' : 'Cr'} ${ledgerAccountKey(e.account)} ${e.amountUnits}`,
    ),
  ]);

describe('journalCoreEvents: one balanced transaction per money movement', () => {
  it('books deposits, withdrawals and admin adjustments on the chart of accounts', () => {
    const catalog = referenceCatalog();
    const state = new Map<string, AccountState>();
    const steps: Array<[PublicCoreEvent[], unknown]> = [
      [
        [fundsMoved('DEPOSIT', 500n, 1), balanceChanged(alice, 1, 500n, 0n, 1)],
        ['DEPOSIT', [`Dr system:CUSTODY:BTC 500`, `Cr user:${alice}:BTC:AVAILABLE 500`]],
      ],
      [
        [fundsMoved('WITHDRAW_HOLD', 200n, 2), balanceChanged(alice, 1, 300n, 200n, 2)],
        ['WITHDRAWAL_HOLD', [`Dr user:${alice}:BTC:AVAILABLE 200`, `Cr user:${alice}:BTC:WITHDRAWING 200`]],
      ],
      [
        [fundsMoved('WITHDRAW_SETTLE', 200n, 3), balanceChanged(alice, 1, 300n, 0n, 3)],
        ['WITHDRAWAL_SETTLE', [`Dr user:${alice}:BTC:WITHDRAWING 200`, `Cr system:CUSTODY:BTC 200`]],
      ],
      [
        [fundsMoved('WITHDRAW_HOLD', 100n, 4), balanceChanged(alice, 1, 200n, 100n, 4)],
        ['WITHDRAWAL_HOLD', [`Dr user:${alice}:BTC:AVAILABLE 100`, `Cr user:${alice}:BTC:WITHDRAWING 100`]],
      ],
      [
        [fundsMoved('WITHDRAW_RELEASE', 100n, 5), balanceChanged(alice, 1, 300n, 0n, 5)],
        [
          'WITHDRAWAL_RELEASE',
          [`Dr user:${alice}:BTC:WITHDRAWING 100`, `Cr user:${alice}:BTC:AVAILABLE 100`],
        ],
      ],
      [
        [fundsMoved('ADMIN_ADJUST', 40n, 6), balanceChanged(alice, 1, 340n, 0n, 6)],
        ['ADMIN_ADJUSTMENT', [`Dr system:ADJUSTMENTS:BTC 40`, `Cr user:${alice}:BTC:AVAILABLE 40`]],
      ],
      [
        [fundsMoved('ADMIN_ADJUST', -340n, 7), balanceChanged(alice, 1, 0n, 0n, 7)],
        ['ADMIN_ADJUSTMENT', [`Dr user:${alice}:BTC:AVAILABLE 340`, `Cr system:ADJUSTMENTS:BTC 340`]],
      ],
    ];
    for (const [events, expected] of steps) {
      const batch = journalCoreEvents(events, state, catalog);
      expect(shape(batch)).toEqual([expected]);
      for (const t of batch.transactions) assertBalanced(t.entries);
      adopt(state, batch);
    }
    // Deposited 500, settled 200 out, adjusted +40 −340: custody holds 300, adjustments net −300.
    expect(state.get('system:CUSTODY:BTC')!.balanceUnits).toBe(-300n);
    expect(state.get('system:ADJUSTMENTS:BTC')!.balanceUnits).toBe(300n);
    expect(state.get(`user:${alice}:BTC:AVAILABLE`)).toEqual({ balanceUnits: 0n, version: 6n });
  });

  it('books a trade with both fees, the order hold at acceptance and the trimmed hold as a release', () => {
    const catalog = referenceCatalog();
    const state = new Map<string, AccountState>([
      [`user:${alice}:USDT:AVAILABLE`, { balanceUnits: 1_000_000n, version: 1n }],
      [`user:${bob}:BTC:LOCKED`, { balanceUnits: 5_000n, version: 1n }],
      [`user:${bob}:BTC:AVAILABLE`, { balanceUnits: 0n, version: 1n }],
    ]);
    // Alice buys (taker) at most 300_000 µUSDT; 4_000 sat trade for 240_000 µUSDT; taker fee 8 sat,
    // maker fee 240 µUSDT; the unused 60_000 is released when the IOC order ends.
    const accepted = stamp(
      {
        type: 'OrderAccepted' as const,
        orderId: 9,
        userId: alice,
        marketId: 1,
        side: 'BUY' as const,
        orderType: 'LIMIT' as const,
        timeInForce: 'IOC' as const,
        priceTicks: 6_000_000,
        stopPriceTicks: null,
        quantityLots: 5,
        quoteBudgetUnits: null,
        postOnly: false,
        selfTradePrevention: 'NONE' as const,
        clientOrderId: null,
        status: 'OPEN' as const,
        holdUnits: 300_000n,
      },
      10,
    );
    const trade = stamp(
      {
        type: 'Trade' as const,
        tradeId: 3,
        marketId: 1,
        priceTicks: 6_000_000,
        quantityLots: 4,
        takerSide: 'BUY' as const,
        makerOrderId: 2,
        makerUserId: bob,
        takerOrderId: 9,
        takerUserId: alice,
        baseUnits: 4_000n,
        quoteUnits: 240_000n,
        makerFeeUnits: 240n,
        takerFeeUnits: 8n,
        makerRemainingLots: 1,
        takerRemainingLots: 1,
      },
      10,
    );
    const events = [
      accepted,
      trade,
      balanceChanged(alice, 3, 760_000n, 0n, 10),
      balanceChanged(alice, 1, 3_992n, 0n, 10),
      balanceChanged(bob, 1, 0n, 1_000n, 10),
      balanceChanged(bob, 3, 239_760n, 0n, 10),
    ];
    const batch = journalCoreEvents(events, state, catalog);
    expect(shape(batch)).toEqual([
      ['ORDER_HOLD', [`Dr user:${alice}:USDT:AVAILABLE 300000`, `Cr user:${alice}:USDT:LOCKED 300000`]],
      [
        'TRADE',
        [
          `Dr user:${alice}:USDT:LOCKED 240000`,
          `Cr user:${alice}:BTC:AVAILABLE 3992`,
          `Dr user:${bob}:BTC:LOCKED 4000`,
          `Cr user:${bob}:USDT:AVAILABLE 239760`,
          `Cr system:FEE_REVENUE:BTC 8`,
          `Cr system:FEE_REVENUE:USDT 240`,
        ],
      ],
      ['ORDER_RELEASE', [`Dr user:${alice}:USDT:LOCKED 60000`, `Cr user:${alice}:USDT:AVAILABLE 60000`]],
    ]);
    for (const t of batch.transactions) {
      assertBalanced(t.entries);
      expect(t.commandSeq).toBe(10);
    }
    expect(batch.transactions.map((t) => [t.eventSeq, t.leg])).toEqual([
      [accepted.eventSeq, 0],
      [trade.eventSeq, 0],
      [events[2]!.eventSeq, 0],
    ]);
  });

  it('does not book an unfillable FOK order’s hold, and books a FOK’s hold when it trades', () => {
    const catalog = referenceCatalog();
    const state = new Map<string, AccountState>([
      [`user:${alice}:BTC:AVAILABLE`, { balanceUnits: 10_000n, version: 1n }],
    ]);
    const fok = (status: 'OPEN', seq: number) =>
      stamp(
        {
          type: 'OrderAccepted' as const,
          orderId: 20 + seq,
          userId: alice,
          marketId: 1,
          side: 'SELL' as const,
          orderType: 'LIMIT' as const,
          timeInForce: 'FOK' as const,
          priceTicks: 6_000_000,
          stopPriceTicks: null,
          quantityLots: 5,
          quoteBudgetUnits: null,
          postOnly: false,
          selfTradePrevention: 'NONE' as const,
          clientOrderId: null,
          status,
          holdUnits: 5_000n,
        },
        seq,
      );
    // Unfillable: expires untouched, no BalanceChanged.
    expect(journalCoreEvents([fok('OPEN', 1)], state, catalog).transactions).toEqual([]);
    // Fillable: the trade books the hold it spends first.
    const accepted = fok('OPEN', 2);
    const trade = stamp(
      {
        type: 'Trade' as const,
        tradeId: 4,
        marketId: 1,
        priceTicks: 6_000_000,
        quantityLots: 5,
        takerSide: 'SELL' as const,
        makerOrderId: 2,
        makerUserId: bob,
        takerOrderId: accepted.orderId,
        takerUserId: alice,
        baseUnits: 5_000n,
        quoteUnits: 300_000n,
        makerFeeUnits: 5n,
        takerFeeUnits: 600n,
        makerRemainingLots: 0,
        takerRemainingLots: 0,
      },
      2,
    );
    const withBob = new Map(state);
    withBob.set(`user:${bob}:USDT:LOCKED`, { balanceUnits: 300_000n, version: 1n });
    const batch = journalCoreEvents(
      [
        accepted,
        trade,
        balanceChanged(alice, 1, 5_000n, 0n, 2),
        balanceChanged(alice, 3, 299_400n, 0n, 2),
        balanceChanged(bob, 3, 0n, 0n, 2),
        balanceChanged(bob, 1, 4_995n, 0n, 2),
      ],
      withBob,
      catalog,
    );
    expect(shape(batch).slice(0, 1)).toEqual([
      ['ORDER_HOLD', [`Dr user:${alice}:BTC:AVAILABLE 5000`, `Cr user:${alice}:BTC:LOCKED 5000`]],
    ]);
    expect(batch.transactions.map((t) => [t.kind, t.eventSeq, t.leg])).toEqual([
      ['ORDER_HOLD', trade.eventSeq, 0],
      ['TRADE', trade.eventSeq, 1],
    ]);
  });

  it('stops on totals the journal cannot explain, and on events naming unknown assets or markets', () => {
    const catalog = referenceCatalog();
    const state = new Map<string, AccountState>([
      [`user:${alice}:BTC:AVAILABLE`, { balanceUnits: 100n, version: 1n }],
    ]);
    // Money appearing from nowhere: available up without a movement.
    expect(() => journalCoreEvents([balanceChanged(alice, 1, 101n, 0n)], state, catalog)).toThrow(
      CoreJournalError,
    );
    // A hold is fine (it nets to zero)…
    expect(journalCoreEvents([balanceChanged(alice, 1, 40n, 60n)], state, catalog).transactions).toHaveLength(
      1,
    );
    // …but not one the user cannot afford (the ledger's AVAILABLE would go negative).
    expect(() => journalCoreEvents([balanceChanged(alice, 1, -10n, 110n)], state, catalog)).toThrow(
      CoreJournalError,
    );
    // A movement whose command reports no totals for the pair.
    expect(() =>
      journalCoreEvents(
        [
          fundsMoved('DEPOSIT', 5n, 1),
          stamp({ type: 'MarketStatusChanged' as const, marketId: 1, halted: true }, 2),
        ],
        state,
        catalog,
      ),
    ).toThrow(/reported no BalanceChanged/);
    expect(() => journalCoreEvents([balanceChanged(alice, 99, 0n, 0n)], state, catalog)).toThrow(/asset 99/);
    expect(() => accountsTouchedBy([balanceChanged(alice, 99, 0n, 0n)], catalog)).toThrow(CoreJournalError);
  });
});

// ---------------------------------------------------------------------------------------------
// A whole session of a real core.

/** mulberry32: a tiny seeded PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let coreDir: string;
let core: InProcessCoreClient;
/** Every event of the session, and the commands' event groups in order. */
const log: PublicCoreEvent[] = [];
const users = [alice, bob, '2c4e6a8b-0d1f-4e3a-9b5c-7d9e1f3a5b7c'];

beforeAll(async () => {
  coreDir = mkdtempSync(path.join(tmpdir(), 'graphex-ledger-journal-'));
  core = await createInProcessCoreClient({ dataDir: coreDir });
  const random = prng(61122);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const submit = async (command: CoreCommand) => (await core.submit(command)).result;
  for (const userId of users) {
    await submit({ type: 'Deposit', userId, assetId: AssetIds.BTC, amountUnits: 2_000_000_000n });
    await submit({ type: 'Deposit', userId, assetId: AssetIds.USDT, amountUnits: 1_000_000_000_000n });
    await submit({ type: 'Deposit', userId, assetId: AssetIds.ETH, amountUnits: 50n * 10n ** 18n });
  }
  const open: Array<{ userId: string; orderId: number }> = [];
  const withdrawals: number[] = [];
  let withdrawalId = 100;
  for (let i = 0; i < 500; i++) {
    const userId = pick(users);
    const side = random() < 0.5 ? 'BUY' : 'SELL';
    const marketId = random() < 0.8 ? MarketIds.BTC_USDT : MarketIds.ETH_BTC;
    const price =
      marketId === MarketIds.BTC_USDT
        ? 2_990_000 + Math.floor(random() * 20_000)
        : 50_000 + Math.floor(random() * 1_000);
    const lots =
      marketId === MarketIds.BTC_USDT
        ? 1_000 + Math.floor(random() * 20_000)
        : 10 + Math.floor(random() * 500);
    const roll = random();
    let command: CoreCommand;
    if (roll < 0.1 && open.length > 0) {
      const target = open.splice(Math.floor(random() * open.length), 1)[0]!;
      command = { type: 'CancelOrder', userId: target.userId, orderId: target.orderId };
    } else if (roll < 0.18 && open.length > 0) {
      const target = open[Math.floor(random() * open.length)]!;
      command = {
        type: 'AmendOrder',
        userId: target.userId,
        orderId: target.orderId,
        priceTicks: random() < 0.5 ? null : 2_990_000 + Math.floor(random() * 20_000),
        quantityLots: 20_000 + Math.floor(random() * 20_000),
      };
    } else if (roll < 0.24) {
      command = {
        ...limitOrder(0, MarketIds.BTC_USDT, side, 0, 0),
        userId,
        orderType: 'MARKET',
        timeInForce: pick(['IOC', 'FOK'] as const),
        priceTicks: null,
        quantityLots: side === 'BUY' && random() < 0.5 ? null : lots,
        quoteBudgetUnits:
          side === 'BUY' && random() < 0.5 ? 50_000_000n + BigInt(Math.floor(random() * 500_000_000)) : null,
      } as CoreCommand;
      if (command.type === 'PlaceOrder' && command.quantityLots === null && command.quoteBudgetUnits === null)
        command = { ...command, quantityLots: lots };
    } else if (roll < 0.29) {
      const stopPrice =
        side === 'BUY' ? 3_001_000 + Math.floor(random() * 5_000) : 2_999_000 - Math.floor(random() * 5_000);
      command = {
        ...limitOrder(0, MarketIds.BTC_USDT, side, stopPrice, lots),
        userId,
        orderType: 'STOP_LIMIT',
        stopPriceTicks: stopPrice,
      } as CoreCommand;
    } else if (roll < 0.33) {
      withdrawalId += 1;
      command = {
        type: 'WithdrawHold',
        userId,
        assetId: AssetIds.BTC,
        withdrawalId,
        amountUnits: 1_000_000n + BigInt(Math.floor(random() * 10_000_000)),
      };
    } else if (roll < 0.37 && withdrawals.length > 0) {
      const id = withdrawals.splice(Math.floor(random() * withdrawals.length), 1)[0]!;
      command =
        random() < 0.5
          ? { type: 'WithdrawSettle', withdrawalId: id }
          : { type: 'WithdrawRelease', withdrawalId: id };
    } else if (roll < 0.4) {
      command = {
        type: 'AdminAdjust',
        userId,
        assetId: pick([AssetIds.BTC, AssetIds.USDT]),
        amountUnits: BigInt(Math.floor(random() * 2_000_000) - 1_000_000) || 1n,
      };
    } else {
      const timeInForce = pick(['GTC', 'GTC', 'GTC', 'IOC', 'FOK'] as const);
      command = {
        ...limitOrder(0, marketId, side, price, lots),
        userId,
        timeInForce,
        selfTradePrevention: pick(['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'] as const),
      } as CoreCommand;
    }
    const result = await submit(command);
    if (command.type === 'WithdrawHold' && result.code === 0) withdrawals.push(command.withdrawalId);
    if (
      command.type === 'PlaceOrder' &&
      result.orderId !== null &&
      (result.status === 'OPEN' ||
        result.status === 'PARTIALLY_FILLED' ||
        result.status === 'PENDING_TRIGGER')
    )
      open.push({ userId, orderId: result.orderId });
  }
  const subscription = core.subscribe(0, (events) => {
    log.push(...events);
  });
  const last = await core.lastEventSeq();
  for (let i = 0; i < 500 && (log.at(-1)?.eventSeq ?? 0) < last; i++)
    await new Promise((r) => setTimeout(r, 10));
  await subscription.close();
}, 120_000);

afterAll(async () => {
  await core?.close();
  rmSync(coreDir, { recursive: true, force: true });
});

/** Catalog from the log's AssetAdded / MarketAdded events. */
function catalogOf(events: readonly PublicCoreEvent[]): AssetCatalog {
  const catalog = new AssetCatalog();
  for (const event of events) {
    if (event.type === 'AssetAdded')
      catalog.add({ assetId: event.assetId, symbol: event.symbol, decimals: event.decimals });
    if (event.type === 'MarketAdded')
      catalog.addMarket({
        marketId: event.market.marketId,
        symbol: event.market.symbol,
        baseAssetId: event.market.baseAssetId,
        quoteAssetId: event.market.quoteAssetId,
      });
  }
  return catalog;
}

const bucketOf = (ref: LedgerAccountRef): string => (ref.kind === 'user' ? ref.bucket : ref.name);

describe('a real core’s trading session, journaled', () => {
  it('exercised every kind of movement', () => {
    const kinds = new Set(log.map((e) => (e.type === 'FundsMoved' ? e.kind : e.type)));
    for (const kind of [
      'DEPOSIT',
      'WITHDRAW_HOLD',
      'WITHDRAW_SETTLE',
      'WITHDRAW_RELEASE',
      'ADMIN_ADJUST',
      'Trade',
      'OrderAmended',
      'OrderTriggered',
    ])
      expect(kinds, kind).toContain(kind);
  });

  it('equals the core’s totals after every command, balances every transaction and conserves every asset', () => {
    const catalog = catalogOf(log);
    const state = new Map<string, AccountState>();
    const refs = new Map<string, LedgerAccountRef>();
    /** The core's latest reported totals per user/currency. */
    const core = new Map<string, { available: bigint; locked: bigint }>();
    const fees = new Map<string, bigint>();
    const kindsBooked = new Set<string>();
    let index = 0;
    let commands = 0;
    while (index < log.length) {
      const seq = log[index]!.seq;
      let end = index;
      while (end < log.length && log[end]!.seq === seq) end += 1;
      const command = log.slice(index, end);
      index = end;
      commands += 1;
      for (const [key, ref] of accountsTouchedBy(command, catalog)) refs.set(key, ref);
      const batch = journalCoreEvents(command, state, catalog);
      adopt(state, batch);
      for (const t of batch.transactions) {
        assertBalanced(t.entries);
        kindsBooked.add(t.kind);
      }
      for (const event of command) {
        if (event.type === 'BalanceChanged') {
          const currency = catalog.byId(event.assetId)!.symbol;
          core.set(`${event.userId}/${currency}`, {
            available: event.availableUnits,
            locked: event.lockedUnits,
          });
        }
        if (event.type === 'Trade') {
          const market = catalog.market(event.marketId)!;
          const [baseFee, quoteFee] =
            event.takerSide === 'BUY'
              ? [event.takerFeeUnits, event.makerFeeUnits]
              : [event.makerFeeUnits, event.takerFeeUnits];
          const base = catalog.byId(market.baseAssetId)!.symbol;
          const quote = catalog.byId(market.quoteAssetId)!.symbol;
          fees.set(base, (fees.get(base) ?? 0n) + baseFee);
          fees.set(quote, (fees.get(quote) ?? 0n) + quoteFee);
        }
      }
      // Ledger = core for every user and asset the core ever reported.
      const balance = (userId: string, currency: string, bucket: UserBucket) =>
        state.get(ledgerAccountKey({ kind: 'user', userId, currency, bucket }))?.balanceUnits ?? 0n;
      for (const [pair, totals] of core) {
        const [userId, currency] = pair.split('/') as [string, string];
        expect(
          {
            available: balance(userId, currency, 'AVAILABLE'),
            locked: balance(userId, currency, 'LOCKED') + balance(userId, currency, 'WITHDRAWING'),
          },
          `${pair} after command ${seq}`,
        ).toEqual(totals);
      }
      // Conservation per asset: user buckets + fee revenue = custody holdings + net adjustments.
      const sums = new Map<string, Map<string, bigint>>();
      for (const [key, { balanceUnits }] of state) {
        const ref = refs.get(key)!;
        expect(ref.kind === 'system' || balanceUnits >= 0n, key).toBe(true);
        const perCurrency = sums.get(ref.currency) ?? new Map<string, bigint>();
        perCurrency.set(bucketOf(ref), (perCurrency.get(bucketOf(ref)) ?? 0n) + balanceUnits);
        sums.set(ref.currency, perCurrency);
      }
      for (const [currency, bucket] of sums) {
        const of = (name: string) => bucket.get(name) ?? 0n;
        expect(
          of('AVAILABLE') + of('LOCKED') + of('WITHDRAWING') + of('FEE_REVENUE'),
          `conservation of ${currency} after command ${seq}`,
        ).toBe(-of('CUSTODY') - of('ADJUSTMENTS'));
        expect(of('FEE_REVENUE'), `fee revenue ${currency}`).toBe(fees.get(currency) ?? 0n);
      }
    }
    expect(commands).toBeGreaterThan(400);
    expect(log.filter((e) => e.type === 'Trade').length).toBeGreaterThan(100);
    expect([...kindsBooked].sort()).toEqual([
      'ADMIN_ADJUSTMENT',
      'DEPOSIT',
      'ORDER_HOLD',
      'ORDER_RELEASE',
      'TRADE',
      'WITHDRAWAL_HOLD',
      'WITHDRAWAL_RELEASE',
      'WITHDRAWAL_SETTLE',
    ]);
  });

  it('books the same journal whatever the batch boundaries', () => {
    const catalog = catalogOf(log);
    const replay = (sizes: () => number) => {
      const state = new Map<string, AccountState>();
      const transactions: string[] = [];
      for (let start = 0, size = sizes(); start < log.length; start += size, size = sizes()) {
        const batch = journalCoreEvents(log.slice(start, start + size), state, catalog);
        adopt(state, batch);
        for (const t of batch.transactions)
          transactions.push(
            `${t.eventSeq}.${t.leg} ${t.kind} ${t.applied.map((a) => `${a.accountKey}=${a.balanceAfterUnits}@${a.accountVersion}`).join(' ')}`,
          );
      }
      return { transactions, state };
    };
    const whole = replay(() => log.length);
    const random = prng(7);
    const ragged = replay(() => 1 + Math.floor(random() * 9));
    expect(ragged.transactions).toEqual(whole.transactions);
    expect(ragged.state).toEqual(whole.state);
    // Per asset all balances sum to zero.
    for (const [currency, total] of totalsByCurrency(
      [...whole.state].map(([key, { balanceUnits }]) => ({
        account: { kind: 'system', name: 'CUSTODY', currency: key.split(':')[2]! } as const,
        side: balanceUnits >= 0n ? ('CREDIT' as const) : ('DEBIT' as const),
        amountUnits: balanceUnits >= 0n ? balanceUnits : -balanceUnits,
      })),
    ))
      expect(total.debitUnits, currency).toBe(total.creditUnits);
  });
});
