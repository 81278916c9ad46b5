-- Balances live in the matching core from now on (DESIGN.md rule 1). `User.accounts` is served from
-- this projection of the core's BalanceChanged events (available / locked per user per asset),
-- idempotent by the core's eventSeq and rebuildable from its event log.

CREATE TABLE core_assets (
  asset_id integer PRIMARY KEY,
  symbol text NOT NULL UNIQUE,
  decimals integer NOT NULL CHECK (decimals >= 0 AND decimals <= 36)
);

CREATE TABLE core_balances (
  -- The identity user id as the core reports it (the core accepts any user reference).
  user_id text NOT NULL,
  asset_id integer NOT NULL REFERENCES core_assets (asset_id),
  available numeric(78, 0) NOT NULL CHECK (available >= 0),
  locked numeric(78, 0) NOT NULL CHECK (locked >= 0),
  -- eventSeq of the BalanceChanged event these totals come from.
  event_seq bigint NOT NULL,
  PRIMARY KEY (user_id, asset_id)
);

-- Last applied core eventSeq per stream ("core").
CREATE TABLE projection_positions (
  stream text PRIMARY KEY,
  last_sequence bigint NOT NULL CHECK (last_sequence >= 0)
);
