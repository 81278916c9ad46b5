-- Reference data of the exchange: assets and spot markets. Sizes and fee rates are exact NUMERIC
-- (never float); the service reads them back as text and serves canonical decimal strings.
CREATE TABLE assets (
  symbol text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9]{2,12}$'),
  name text NOT NULL,
  decimals integer NOT NULL CHECK (decimals BETWEEN 0 AND 36),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE markets (
  symbol text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$'),
  base_currency text NOT NULL REFERENCES assets (symbol),
  quote_currency text NOT NULL REFERENCES assets (symbol),
  tick_size numeric NOT NULL CHECK (tick_size > 0),
  lot_size numeric NOT NULL CHECK (lot_size > 0),
  min_notional numeric NOT NULL CHECK (min_notional >= 0),
  maker_fee_rate numeric NOT NULL CHECK (maker_fee_rate >= 0 AND maker_fee_rate < 1),
  taker_fee_rate numeric NOT NULL CHECK (taker_fee_rate >= 0 AND taker_fee_rate < 1),
  status text NOT NULL DEFAULT 'TRADING' CHECK (status IN ('TRADING', 'HALTED')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (base_currency <> quote_currency),
  CHECK (symbol = base_currency || '-' || quote_currency)
);

-- One row per seed ever applied: seeding happens once per database, so an operator's later edits
-- (fees, halts, even a deleted market) survive restarts.
CREATE TABLE seed_history (
  name text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
