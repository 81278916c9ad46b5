-- The projection now follows the matching core's public event log (one stream, "core", whose
-- sequence is the core's eventSeq). Order ids are the core's order ids.

-- A market buy sized by its quote budget has no base quantity until it is done.
ALTER TABLE orders ALTER COLUMN quantity DROP NOT NULL;
ALTER TABLE orders ADD COLUMN quote_quantity numeric CHECK (quote_quantity > 0);
ALTER TABLE orders ADD COLUMN market_id integer NOT NULL DEFAULT 0;
-- The core's DoneReason (FILLED, CANCELLED, IOC_REMAINDER, FOK_UNFILLED, SELF_TRADE, BUDGET_EXHAUSTED).
ALTER TABLE orders ADD COLUMN done_reason text;
ALTER TABLE orders ADD CONSTRAINT orders_sized CHECK (quantity IS NOT NULL OR quote_quantity IS NOT NULL);

-- Assets and markets exactly as the core announced them (AssetAdded / MarketAdded /
-- MarketStatusChanged): the service validates orders against these and formats amounts with them.
CREATE TABLE core_assets (
  asset_id integer PRIMARY KEY,
  symbol text NOT NULL UNIQUE,
  decimals integer NOT NULL CHECK (decimals >= 0 AND decimals <= 36)
);

CREATE TABLE core_markets (
  market_id integer PRIMARY KEY,
  symbol text NOT NULL UNIQUE,
  base_asset_id integer NOT NULL REFERENCES core_assets (asset_id),
  quote_asset_id integer NOT NULL REFERENCES core_assets (asset_id),
  tick_size_quote_units numeric(78, 0) NOT NULL CHECK (tick_size_quote_units > 0),
  lot_size_base_units numeric(78, 0) NOT NULL CHECK (lot_size_base_units > 0),
  min_notional_quote_units numeric(78, 0) NOT NULL CHECK (min_notional_quote_units >= 0),
  maker_fee_ppm integer NOT NULL,
  taker_fee_ppm integer NOT NULL,
  max_price_ticks bigint NOT NULL,
  max_quantity_lots bigint NOT NULL,
  halted boolean NOT NULL DEFAULT false
);
