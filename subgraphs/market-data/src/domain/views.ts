/** Market data as the API shows it (decimal strings), built from the projection's integers. */
import type { Side } from '@graphex/schema';
import type { BookLevel } from './book.ts';
import { priceDecimal, quantityDecimal, type MarketScale } from './scale.ts';

export interface PriceLevelView {
  readonly price: string;
  readonly quantity: string;
}

export interface OrderBookView {
  readonly symbol: string;
  readonly sequence: string;
  bids: PriceLevelView[];
  asks: PriceLevelView[];
}

export type BookEventKind = 'SNAPSHOT' | 'DELTA';

export interface OrderBookEventView extends OrderBookView {
  readonly kind: BookEventKind;
}

export interface TradeView {
  readonly id: string;
  readonly symbol: string;
  readonly price: string;
  readonly quantity: string;
  readonly takerSide: Side;
  readonly createdAt: Date;
}

export interface TickerView {
  readonly symbol: string;
  readonly last: string | null;
  readonly bestBid: string | null;
  readonly bestAsk: string | null;
  readonly open24h: string | null;
  readonly high24h: string | null;
  readonly low24h: string | null;
  readonly volume24h: string;
}

export interface CandleView {
  readonly openTime: Date;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
}

export function levelViews(scale: MarketScale, levels: readonly BookLevel[]): PriceLevelView[] {
  return levels.map((level) => ({
    price: priceDecimal(scale, level.priceTicks),
    quantity: quantityDecimal(scale, level.quantityLots),
  }));
}
