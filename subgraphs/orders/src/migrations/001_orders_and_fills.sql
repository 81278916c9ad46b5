-- Read model of the matching core's orders and fills (DESIGN.md rule 4). Written only by the
-- projection in src/projections/, idempotently, keyed by the core's event sequence per stream.
-- Amounts are exact NUMERIC decimals; the service reads them back as text.
CREATE TABLE orders (
  id text COLLATE "C" PRIMARY KEY,
  user_id text NOT NULL,
  client_order_id text,
  symbol text NOT NULL,
  side text NOT NULL CHECK (side IN ('BUY', 'SELL')),
  type text NOT NULL CHECK (type IN ('LIMIT', 'MARKET', 'STOP_LIMIT', 'STOP_MARKET')),
  time_in_force text NOT NULL CHECK (time_in_force IN ('GTC', 'IOC', 'FOK')),
  post_only boolean NOT NULL,
  self_trade_prevention text NOT NULL CHECK (self_trade_prevention IN ('NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH')),
  price numeric CHECK (price > 0),
  stop_price numeric CHECK (stop_price > 0),
  quantity numeric NOT NULL CHECK (quantity > 0),
  filled_quantity numeric NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
  filled_notional numeric NOT NULL DEFAULT 0 CHECK (filled_notional >= 0),
  status text NOT NULL CHECK (status IN ('OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED', 'PENDING_TRIGGER')),
  reject_reason text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- Core stream and sequence of the last event applied to this row (out-of-order guard).
  last_stream text NOT NULL,
  last_sequence bigint NOT NULL,
  CHECK (filled_quantity <= quantity)
);

-- "Newest first" pages per user, optionally per market.
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_user_symbol_created_idx ON orders (user_id, symbol, created_at DESC, id DESC);
CREATE INDEX orders_user_client_order_id_idx ON orders (user_id, client_order_id) WHERE client_order_id IS NOT NULL;

CREATE TABLE fills (
  trade_id text COLLATE "C" NOT NULL,
  order_id text COLLATE "C" NOT NULL REFERENCES orders (id),
  price numeric NOT NULL CHECK (price > 0),
  quantity numeric NOT NULL CHECK (quantity > 0),
  fee numeric NOT NULL CHECK (fee >= 0),
  fee_currency text NOT NULL,
  liquidity text NOT NULL CHECK (liquidity IN ('MAKER', 'TAKER')),
  created_at timestamptz NOT NULL,
  stream text NOT NULL,
  sequence bigint NOT NULL,
  PRIMARY KEY (order_id, trade_id)
);

-- Highest core event sequence applied, per event stream (one per core shard): an event at or
-- below it was already applied and is skipped, so redelivery and replay are harmless.
CREATE TABLE projection_positions (
  stream text PRIMARY KEY,
  last_sequence bigint NOT NULL CHECK (last_sequence >= 0)
);
