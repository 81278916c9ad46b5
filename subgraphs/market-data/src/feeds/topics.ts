/**
 * Bus topics and message shapes between the projection (publisher) and the subscription feeds of
 * every market-data instance. Messages are JSON; book messages carry the core's integers (each
 * instance formats with its own catalog), trade and ticker messages carry API views.
 */
import type { Side } from '@graphex/schema';
import type { BookChange } from '../domain/book.ts';
import type { TickerView, TradeView } from '../domain/views.ts';

export const bookTopic = (symbol: string): string => `market-data.book.${symbol}`;
export const tradesTopic = (symbol: string): string => `market-data.trades.${symbol}`;
export const tickerTopic = (symbol: string): string => `market-data.ticker.${symbol}`;

/** Book events per message at most (a bound on message size: ~100 bytes each, far below 1 MB). */
export const bookChangesPerMessage = 2_000;
/** Trades per message at most. */
export const tradesPerMessage = 1_000;

export interface BookMessage {
  readonly changes: readonly BookChange[];
}

export interface TradesMessage {
  readonly trades: ReadonlyArray<Omit<TradeView, 'createdAt'> & { readonly createdAtMs: number }>;
}

const sides: ReadonlySet<string> = new Set(['BUY', 'SELL']);

function isSafeNonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parses a book message; null when malformed (a foreign publisher on the topic). */
export function decodeBookMessage(text: string): BookChange[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const changes = (parsed as { changes?: unknown } | null)?.changes;
  if (!Array.isArray(changes)) return null;
  const result: BookChange[] = [];
  for (const change of changes as unknown[]) {
    const c = change as Partial<Record<keyof BookChange, unknown>> | null;
    if (
      !c ||
      !isSafeNonNegative(c.bookSeq) ||
      typeof c.side !== 'string' ||
      !sides.has(c.side) ||
      !isSafeNonNegative(c.priceTicks) ||
      !isSafeNonNegative(c.quantityLots) ||
      !isSafeNonNegative(c.orderCount)
    )
      return null;
    result.push({
      bookSeq: c.bookSeq,
      side: c.side as Side,
      priceTicks: c.priceTicks,
      quantityLots: c.quantityLots,
      orderCount: c.orderCount,
    });
  }
  return result;
}

export function encodeTrades(trades: readonly TradeView[]): string {
  const message: TradesMessage = {
    trades: trades.map(({ createdAt, ...trade }) => ({ ...trade, createdAtMs: createdAt.getTime() })),
  };
  return JSON.stringify(message);
}

export function decodeTrades(text: string): TradeView[] | null {
  try {
    const message = JSON.parse(text) as TradesMessage;
    if (!Array.isArray(message.trades)) return null;
    return message.trades.map(({ createdAtMs, ...trade }) => ({
      ...trade,
      createdAt: new Date(createdAtMs),
    }));
  } catch {
    return null;
  }
}

export function decodeTicker(text: string): TickerView | null {
  try {
    const ticker = JSON.parse(text) as TickerView;
    return typeof ticker.symbol === 'string' && typeof ticker.volume24h === 'string' ? ticker : null;
  } catch {
    return null;
  }
}
