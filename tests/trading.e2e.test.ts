/**
 * Issue 4 end to end, on the real processes: two users trade through the gateway; fills reach both
 * users' subscriptions with federated fields; balances after fees are exact; order book deltas
 * applied to the SNAPSHOT equal the queried book at the same sequence; a book subscriber whose
 * subgraph restarts resubscribes and gets a new SNAPSHOT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { connectWs, gql, gqlOk, record, startPlatform, type Platform } from './harness/index.ts';

/** Canonical decimal (no trailing fractional zeros) so "50000.00" and "50000" compare equal. */
function canon(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}

interface Level {
  price: string;
  quantity: string;
}
interface BookEvent {
  orderBook: { kind: 'SNAPSHOT' | 'DELTA'; symbol: string; sequence: string; bids: Level[]; asks: Level[] };
}
interface FillEvent {
  myFills: {
    tradeId: string;
    price: string;
    quantity: string;
    fee: string;
    feeCurrency: string;
    liquidity: 'MAKER' | 'TAKER';
    order: {
      id: string;
      side: string;
      market: { symbol: string; baseCurrency: string };
      user: { email: string };
    };
  };
}

const bookSubscription = /* GraphQL */ `
  subscription Book($symbol: String!) {
    orderBook(symbol: $symbol, depth: 50) {
      kind
      symbol
      sequence
      bids {
        price
        quantity
      }
      asks {
        price
        quantity
      }
    }
  }
`;
const fillsSubscription = /* GraphQL */ `
  subscription Fills {
    myFills {
      tradeId
      price
      quantity
      fee
      feeCurrency
      liquidity
      order {
        id
        side
        market {
          symbol
          baseCurrency
        }
        user {
          email
        }
      }
    }
  }
`;
const placeOrder = /* GraphQL */ `
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      id
      status
      side
      price
      quantity
      filledQuantity
      remainingQuantity
    }
  }
`;

let platform: Platform;
let url: string;
const tokens: Record<'admin' | 'alice' | 'bob', string> = { admin: '', alice: '', bob: '' };
const ids: Record<'alice' | 'bob', string> = { alice: '', bob: '' };
const clients: Client[] = [];

async function register(email: string): Promise<{ token: string; id: string }> {
  const data = await gqlOk<{ register: { accessToken: string; user: { id: string } } }>(
    url,
    `mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    { input: { email, password: 'trading-pass-2026' } },
  );
  return { token: data.register.accessToken, id: data.register.user.id };
}

async function credit(userId: string, currency: string, amount: string): Promise<void> {
  await gqlOk(
    url,
    `mutation ($userId: ID!, $currency: String!, $amount: Decimal!) {
      adminAdjustBalance(userId: $userId, currency: $currency, amount: $amount, reason: "e2e funding") { available }
    }`,
    { userId, currency, amount },
    tokens.admin,
  );
}

async function accounts(token: string): Promise<Record<string, { available: string; locked: string }>> {
  const data = await gqlOk<{
    me: { accounts: Array<{ currency: string; available: string; locked: string }> };
  }>(url, `{ me { accounts { currency available locked } } }`, {}, token);
  return Object.fromEntries(
    data.me.accounts.map((a) => [a.currency, { available: canon(a.available), locked: canon(a.locked) }]),
  );
}

/** Polls until `check` passes (read models may lag the core by milliseconds). */
async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => void,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    try {
      check(value);
      return value;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

beforeAll(async () => {
  platform = await startPlatform({
    env: { EXCHANGE_ADMIN_EMAIL: 'admin@trading.test', EXCHANGE_ADMIN_PASSWORD: 'Admin-trading-2026' },
  });
  url = platform.gatewayUrl;
  const admin = await gqlOk<{ login: { accessToken: string } }>(
    url,
    `mutation { login(input: { email: "admin@trading.test", password: "Admin-trading-2026" }) { accessToken } }`,
  );
  tokens.admin = admin.login.accessToken;
  const alice = await register('alice@trading.test');
  const bob = await register('bob@trading.test');
  tokens.alice = alice.token;
  tokens.bob = bob.token;
  ids.alice = alice.id;
  ids.bob = bob.id;
  await credit(ids.alice, 'USDT', '100000');
  await credit(ids.bob, 'BTC', '2');
}, 240_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await platform?.stop();
});

function ws(token?: string): Client {
  const client = connectWs(url, token);
  clients.push(client);
  return client;
}

function applyDeltas(
  snapshot: BookEvent['orderBook'],
  deltas: BookEvent['orderBook'][],
): { bids: Level[]; asks: Level[] } {
  const sides = {
    bids: new Map(snapshot.bids.map((l) => [canon(l.price), canon(l.quantity)])),
    asks: new Map(snapshot.asks.map((l) => [canon(l.price), canon(l.quantity)])),
  };
  for (const delta of deltas) {
    for (const side of ['bids', 'asks'] as const) {
      for (const level of delta[side]) {
        if (canon(level.quantity) === '0') sides[side].delete(canon(level.price));
        else sides[side].set(canon(level.price), canon(level.quantity));
      }
    }
  }
  // Compare prices exactly as decimals: scale to a common number of fractional digits.
  const order = (a: string, b: string): number => {
    const digits = Math.max(a.split('.')[1]?.length ?? 0, b.split('.')[1]?.length ?? 0);
    const scale = (v: string): bigint =>
      BigInt(v.replace('.', '') + '0'.repeat(digits - (v.split('.')[1]?.length ?? 0)));
    const diff = scale(a) - scale(b);
    return diff < 0n ? -1 : diff > 0n ? 1 : 0;
  };
  return {
    bids: [...sides.bids]
      .map(([price, quantity]) => ({ price, quantity }))
      .sort((x, y) => order(y.price, x.price)),
    asks: [...sides.asks]
      .map(([price, quantity]) => ({ price, quantity }))
      .sort((x, y) => order(x.price, y.price)),
  };
}

describe('live trading through the supergraph', () => {
  it('trades between two users with fills, federated fields, exact fees and a consistent book stream', async () => {
    const book = record<BookEvent>(ws(), bookSubscription, { symbol: 'BTC-USDT' });
    const aliceFills = record<FillEvent>(ws(tokens.alice), fillsSubscription);
    const bobFills = record<FillEvent>(ws(tokens.bob), fillsSubscription);
    await book.waitFor((events) => events.length >= 1);
    expect(book.events[0]!.orderBook.kind).toBe('SNAPSHOT');
    // Let the per-user subscriptions reach their subgraph before trading.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const ask = await gql<{ placeOrder: { id: string; status: string } }>(
      url,
      placeOrder,
      { input: { symbol: 'BTC-USDT', side: 'SELL', type: 'LIMIT', price: '50000', quantity: '0.5' } },
      tokens.bob,
    );
    expect(ask.errors).toBeUndefined();
    expect(ask.data?.placeOrder.status).toBe('OPEN');

    const bid = await gql<{ placeOrder: { id: string; status: string; filledQuantity: string } }>(
      url,
      placeOrder,
      {
        input: {
          symbol: 'BTC-USDT',
          side: 'BUY',
          type: 'LIMIT',
          price: '50000',
          quantity: '0.2',
          clientOrderId: 'alice-1',
        },
      },
      tokens.alice,
    );
    expect(bid.errors).toBeUndefined();
    expect(bid.data?.placeOrder).toMatchObject({ status: 'FILLED' });
    expect(canon(bid.data!.placeOrder.filledQuantity)).toBe('0.2');

    await aliceFills.waitFor((events) => events.length >= 1);
    await bobFills.waitFor((events) => events.length >= 1);
    const aliceFill = aliceFills.events[0]!.myFills;
    const bobFill = bobFills.events[0]!.myFills;
    expect(aliceFill.tradeId).toBe(bobFill.tradeId);
    expect({
      ...aliceFill,
      price: canon(aliceFill.price),
      quantity: canon(aliceFill.quantity),
      fee: canon(aliceFill.fee),
    }).toMatchObject({
      price: '50000',
      quantity: '0.2',
      fee: '0.0004', // taker 0.2 % of the 0.2 BTC received
      feeCurrency: 'BTC',
      liquidity: 'TAKER',
      order: {
        id: bid.data!.placeOrder.id,
        side: 'BUY',
        market: { symbol: 'BTC-USDT', baseCurrency: 'BTC' },
        user: { email: 'alice@trading.test' },
      },
    });
    expect({ ...bobFill, fee: canon(bobFill.fee) }).toMatchObject({
      fee: '10', // maker 0.1 % of the 10,000 USDT received
      feeCurrency: 'USDT',
      liquidity: 'MAKER',
      order: { id: ask.data!.placeOrder.id, side: 'SELL', user: { email: 'bob@trading.test' } },
    });
    // Nobody sees another user's fills.
    expect(aliceFills.events.every((e) => e.myFills.order.user.email === 'alice@trading.test')).toBe(true);
    expect(bobFills.events.every((e) => e.myFills.order.user.email === 'bob@trading.test')).toBe(true);

    // Balances after fees, exact (read models may lag by milliseconds).
    await eventually(
      () => accounts(tokens.alice),
      (a) => {
        expect(a['USDT']).toEqual({ available: '90000', locked: '0' });
        expect(a['BTC']).toEqual({ available: '0.1996', locked: '0' });
      },
    );
    await eventually(
      () => accounts(tokens.bob),
      (b) => {
        expect(b['BTC']).toEqual({ available: '1.5', locked: '0.3' });
        expect(b['USDT']).toEqual({ available: '9990', locked: '0' });
      },
    );

    // Book: SNAPSHOT + contiguous DELTAs == the queried book at the same sequence.
    const queried = await eventually(
      () =>
        gqlOk<{ orderBook: { sequence: string; bids: Level[]; asks: Level[] } }>(
          url,
          `{ orderBook(symbol: "BTC-USDT", depth: 50) { sequence bids { price quantity } asks { price quantity } } }`,
        ),
      (b) => expect(b.orderBook.asks.map((l) => canon(l.quantity))).toEqual(['0.3']),
    );
    await book.waitFor(
      (events) => events[events.length - 1]!.orderBook.sequence === queried.orderBook.sequence,
    );
    const snapshotIndex = book.events.map((e) => e.orderBook.kind).lastIndexOf('SNAPSHOT');
    const snapshot = book.events[snapshotIndex]!.orderBook;
    const deltas = book.events.slice(snapshotIndex + 1).map((e) => e.orderBook);
    deltas.forEach((delta, i) =>
      expect(BigInt(delta.sequence)).toBe(BigInt(snapshot.sequence) + BigInt(i + 1)),
    );
    expect(applyDeltas(snapshot, deltas)).toEqual({
      bids: queried.orderBook.bids.map((l) => ({ price: canon(l.price), quantity: canon(l.quantity) })),
      asks: queried.orderBook.asks.map((l) => ({ price: canon(l.price), quantity: canon(l.quantity) })),
    });
    expect(book.errors).toEqual([]);
  });

  it('answers refusals with registry codes and moves nothing', async () => {
    const before = await accounts(tokens.alice);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ symbol: 'NOPE-USDT', side: 'BUY', type: 'LIMIT', price: '1', quantity: '1' }, 'MARKET_NOT_FOUND'],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '50000.001', quantity: '0.1' },
        'INVALID_TICK_SIZE',
      ],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '50000', quantity: '0.000001' },
        'INVALID_LOT_SIZE',
      ],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '0.01', quantity: '0.00001' },
        'MIN_NOTIONAL',
      ],
      [{ symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '-5', quantity: '0.1' }, 'BAD_USER_INPUT'],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '60000', quantity: '100' },
        'INSUFFICIENT_FUNDS',
      ],
      [
        { symbol: 'BTC-USDT', side: 'BUY', type: 'LIMIT', price: '50000', quantity: '0.01', postOnly: true },
        'POST_ONLY_WOULD_TRADE',
      ],
    ];
    for (const [input, code] of cases) {
      const result = await gql(url, placeOrder, { input }, tokens.alice);
      expect(result.errors?.[0]?.extensions?.['code'], JSON.stringify(input)).toBe(code);
    }
    expect(await accounts(tokens.alice)).toEqual(before);
    const anonymous = await gql(url, placeOrder, { input: cases[0]![0] });
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('gives a book subscriber a new SNAPSHOT after the market-data subgraph restarts', async () => {
    const first = record<BookEvent>(ws(), bookSubscription, { symbol: 'BTC-USDT' });
    await first.waitFor((events) => events.length >= 1);
    const sequenceBefore = BigInt(first.events[0]!.orderBook.sequence);
    await platform.restart('market-data');
    // The gateway ends the stream (SERVICE_UNAVAILABLE) when its upstream goes away.
    await first.waitFor(() => first.completed, 20_000);
    const again = record<BookEvent>(ws(), bookSubscription, { symbol: 'BTC-USDT' });
    await again.waitFor((events) => events.length >= 1, 20_000);
    expect(again.events[0]!.orderBook.kind).toBe('SNAPSHOT');
    expect(BigInt(again.events[0]!.orderBook.sequence)).toBeGreaterThanOrEqual(sequenceBefore);
    expect(again.events[0]!.orderBook.asks.map((l) => canon(l.quantity))).toEqual(['0.3']);
  });
});
