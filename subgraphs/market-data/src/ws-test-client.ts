/**
 * Test support: a graphql-ws client (`createClient` over `ws`) that connects to a subgraph the way
 * the gateway does (gateway-signed identity in `connection_init`) and collects a subscription's
 * results for assertions.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { anonymous, internalIdentityHeader, signInternalIdentity, type Identity } from '@graphex/runtime';
import type { OrderBookEventView } from './domain/views.ts';

export interface Collected<T> {
  readonly values: T[];
  readonly errors: unknown[];
  /** Resolves with the nth value (0-based) once it arrived. */
  nth(index: number, timeoutMs?: number): Promise<T>;
  until(check: (values: readonly T[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): void;
}

export interface TestWsClient {
  readonly client: Client;
  readonly closeCodes: number[];
  subscribe<T>(query: string, variables?: Record<string, unknown>): Collected<T>;
  dispose(): Promise<void>;
}

export async function connectWs(
  httpUrl: string,
  secret: string,
  options: { identity?: Identity | null; token?: string } = {},
): Promise<TestWsClient> {
  const identity = options.identity === undefined ? anonymous : options.identity;
  const token = options.token ?? (identity ? await signInternalIdentity(identity, secret, 60) : undefined);
  const closeCodes: number[] = [];
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { [internalIdentityHeader]: token } : {},
    on: { closed: (event) => void closeCodes.push((event as { code: number }).code) },
  });
  return {
    client,
    closeCodes,
    subscribe<T>(query: string, variables: Record<string, unknown> = {}): Collected<T> {
      const values: T[] = [];
      const errors: unknown[] = [];
      const waiters = new Set<() => void>();
      const notify = (): void => {
        for (const waiter of [...waiters]) waiter();
      };
      const stop = client.subscribe<Record<string, T>>(
        { query, variables },
        {
          next: (result) => {
            if (result.errors) errors.push(...result.errors);
            const data = result.data ? Object.values(result.data)[0] : undefined;
            if (data !== undefined) values.push(data);
            notify();
          },
          error: (error) => {
            errors.push(error);
            notify();
          },
          complete: () => notify(),
        },
      );
      const until = (check: (values: readonly T[]) => boolean, timeoutMs = 5_000): Promise<void> =>
        new Promise((resolve, reject) => {
          const waiter = (): void => {
            if (check(values)) {
              clearTimeout(timer);
              waiters.delete(waiter);
              resolve();
            } else if (errors.length > 0) {
              clearTimeout(timer);
              waiters.delete(waiter);
              reject(new Error(`subscription failed: ${JSON.stringify(errors)}`));
            }
          };
          const timer = setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`timed out with ${values.length} values: ${JSON.stringify(values.slice(-3))}`));
          }, timeoutMs);
          waiters.add(waiter);
          waiter();
        });
      return {
        values,
        errors,
        until,
        nth: async (index, timeoutMs) => {
          await until((v) => v.length > index, timeoutMs);
          return values[index]!;
        },
        stop,
      };
    },
    dispose: () => client.dispose() as Promise<void>,
  };
}

export const orderBookSubscription = `subscription ($symbol: String!, $depth: Int) {
  orderBook(symbol: $symbol, depth: $depth) { kind symbol sequence bids { price quantity } asks { price quantity } }
}`;

/** Applies a book stream (SNAPSHOT, DELTAs) like a client; checks contiguity. Returns the book and its sequence. */
export function replayBook(events: readonly OrderBookEventView[]): {
  sequence: number;
  bids: Array<{ price: string; quantity: string }>;
  asks: Array<{ price: string; quantity: string }>;
} {
  let sequence = -1;
  let bids = new Map<string, string>();
  let asks = new Map<string, string>();
  for (const event of events) {
    const next = Number(event.sequence);
    if (event.kind === 'SNAPSHOT') {
      bids = new Map(event.bids.map((l) => [l.price, l.quantity]));
      asks = new Map(event.asks.map((l) => [l.price, l.quantity]));
    } else {
      if (next !== sequence + 1) throw new Error(`DELTA ${next} after ${sequence}`);
      for (const [side, levels] of [
        [bids, event.bids],
        [asks, event.asks],
      ] as const) {
        for (const level of levels) {
          if (level.quantity === '0') side.delete(level.price);
          else side.set(level.price, level.quantity);
        }
      }
    }
    sequence = next;
  }
  const sorted = (side: Map<string, string>, descending: boolean) =>
    [...side.entries()]
      .map(([price, quantity]) => ({ price, quantity }))
      .sort((a, b) => compareDecimals(a.price, b.price) * (descending ? -1 : 1));
  return { sequence, bids: sorted(bids, true), asks: sorted(asks, false) };
}

function compareDecimals(a: string, b: string): number {
  const scale = (value: string): bigint => {
    const [whole, fraction = ''] = value.split('.');
    return BigInt(whole! + fraction.padEnd(30, '0'));
  };
  const difference = scale(a) - scale(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
