import type { BaseRequestContext } from '@graphex/runtime';
import type { BookFeedHub } from './feeds/book-feed.ts';
import type { StreamFeedHub } from './feeds/stream-feed.ts';
import type { TickerView, TradeView } from './domain/views.ts';
import type { MarketDataReader } from './store/market-data-reader.ts';
import type { ReferenceDataView } from './store/reference-data.ts';

/** The subscription feeds of this instance (one bus subscription per topic, shared). */
export interface MarketFeeds {
  readonly books: BookFeedHub;
  readonly trades: StreamFeedHub<TradeView>;
  readonly tickers: StreamFeedHub<TickerView>;
}

/** What every market-data resolver receives: the verified identity plus the read side. */
export interface SubgraphContext extends BaseRequestContext {
  readonly referenceData: ReferenceDataView;
  readonly marketData: MarketDataReader;
  readonly feeds: MarketFeeds;
}
