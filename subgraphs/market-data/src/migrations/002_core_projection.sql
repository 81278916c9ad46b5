-- Projection of the matching core's events (DESIGN.md rule 4): market catalog ids and sizes, book
-- levels, trades and candles. Prices are integer ticks and quantities integer lots or asset base
-- units (exact; converted to decimals at the API with the market's sizes). Idempotent by the core's
-- global event sequence: `projection_position` commits in the same transaction as every batch.

-- The core's small integer ids, joined to the seeded rows by symbol when AssetAdded / MarketAdded
-- arrive. Sizes in base units come from MarketAdded (the core is authoritative for them).
ALTER TABLE assets ADD COLUMN asset_id integer UNIQUE CHECK (asset_id >= 0);
ALTER TABLE markets ADD COLUMN market_id integer UNIQUE CHECK (market_id >= 0);
ALTER TABLE markets ADD COLUMN tick_size_quote_units numeric CHECK (tick_size_quote_units > 0);
ALTER TABLE markets ADD COLUMN lot_size_base_units numeric CHECK (lot_size_base_units > 0);
-- Per-market contiguous sequence of book events (BookLevelChanged.bookSeq) applied so far.
ALTER TABLE markets ADD COLUMN book_seq bigint NOT NULL DEFAULT 0 CHECK (book_seq >= 0);
-- Price of the market's latest trade (Ticker.last), kept here so a ticker never scans trades.
ALTER TABLE markets ADD COLUMN last_price_ticks bigint CHECK (last_price_ticks > 0);

-- One row: the last core event sequence applied. Locked (FOR UPDATE) by every batch, so several
-- service instances on one PostgreSQL schema never apply the same event twice.
CREATE TABLE projection_position (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  event_seq bigint NOT NULL CHECK (event_seq >= 0)
);
INSERT INTO projection_position (singleton, event_seq) VALUES (true, 0);

CREATE TABLE book_levels (
  market_id integer NOT NULL,
  side text NOT NULL CHECK (side IN ('BUY', 'SELL')),
  price_ticks bigint NOT NULL CHECK (price_ticks > 0),
  quantity_lots bigint NOT NULL CHECK (quantity_lots > 0),
  order_count integer NOT NULL CHECK (order_count > 0),
  PRIMARY KEY (market_id, side, price_ticks)
);

CREATE TABLE trades (
  trade_id bigint PRIMARY KEY CHECK (trade_id > 0),
  market_id integer NOT NULL,
  event_seq bigint NOT NULL UNIQUE,
  price_ticks bigint NOT NULL CHECK (price_ticks > 0),
  quantity_lots bigint NOT NULL CHECK (quantity_lots > 0),
  base_units numeric NOT NULL CHECK (base_units > 0),
  quote_units numeric NOT NULL CHECK (quote_units >= 0),
  taker_side text NOT NULL CHECK (taker_side IN ('BUY', 'SELL')),
  time_ms bigint NOT NULL
);
CREATE INDEX trades_market_newest ON trades (market_id, event_seq DESC);

-- OHLCV per market, interval and bucket (open_time_ms = the event's timeMs floored to the interval,
-- UTC). Only buckets with at least one trade exist. Volume in base units, quote volume in quote units.
CREATE TABLE candles (
  market_id integer NOT NULL,
  interval text NOT NULL CHECK (interval IN ('1m', '5m', '1h', '1d')),
  open_time_ms bigint NOT NULL,
  open_ticks bigint NOT NULL CHECK (open_ticks > 0),
  high_ticks bigint NOT NULL,
  low_ticks bigint NOT NULL,
  close_ticks bigint NOT NULL,
  volume_base_units numeric NOT NULL CHECK (volume_base_units > 0),
  quote_volume_units numeric NOT NULL CHECK (quote_volume_units >= 0),
  trade_count integer NOT NULL CHECK (trade_count > 0),
  PRIMARY KEY (market_id, interval, open_time_ms),
  CHECK (low_ticks <= open_ticks AND open_ticks <= high_ticks),
  CHECK (low_ticks <= close_ticks AND close_ticks <= high_ticks)
);
