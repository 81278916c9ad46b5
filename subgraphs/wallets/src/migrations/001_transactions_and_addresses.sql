-- Deposit addresses derived from the exchange's BIP-44 xpub (m/44'/60'/0'/0/<derivation_index>),
-- one per (user, currency), never reused: the index comes from a sequence and is unique per xpub.
CREATE SEQUENCE deposit_address_index_seq MINVALUE 0 START WITH 0;

CREATE TABLE deposit_addresses (
  user_id text NOT NULL,
  currency text NOT NULL,
  chain text NOT NULL CHECK (chain IN ('ethereum')),
  address text NOT NULL,
  derivation_index integer NOT NULL CHECK (derivation_index >= 0),
  -- Which xpub derived the address (sha-256 prefix), so a key change never silently aliases.
  xpub_fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, currency),
  UNIQUE (xpub_fingerprint, derivation_index),
  UNIQUE (chain, address, currency)
);

-- Deposits and withdrawals. Amounts are integer base units of the currency (wei, 10^-6 USDT).
CREATE TABLE transactions (
  id text COLLATE "C" PRIMARY KEY,
  user_id text NOT NULL,
  type text NOT NULL CHECK (type IN ('DEPOSIT', 'WITHDRAWAL')),
  currency text NOT NULL,
  amount_base_units numeric(78, 0) NOT NULL CHECK (amount_base_units > 0),
  status text NOT NULL CHECK (status ~ '^[A-Z_]{1,32}$'),
  address text,
  tx_hash text,
  confirmations integer NOT NULL DEFAULT 0 CHECK (confirmations >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX transactions_user_created_idx ON transactions (user_id, created_at DESC, id DESC);
