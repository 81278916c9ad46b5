-- Double-entry ledger: accounts with their current balance, the journal, and the audit chain.
-- Amounts are integers of asset base units (satoshi, wei, micro-USDT) in NUMERIC(78,0): exact,
-- and wide enough for any uint256.

-- One row per ledger account. `balance` = Σ credits − Σ debits of its entries, maintained in the
-- same database transaction as the entries; `version` increments with every transaction that
-- touches the account (optimistic concurrency on top of row locks).
CREATE TABLE ledger_accounts (
  account_key text PRIMARY KEY,
  owner_kind text NOT NULL CHECK (owner_kind IN ('USER', 'SYSTEM')),
  user_id uuid,
  currency text NOT NULL,
  -- AVAILABLE | LOCKED for user accounts; the system account's name for system accounts.
  bucket text NOT NULL,
  balance numeric(78, 0) NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((owner_kind = 'USER') = (user_id IS NOT NULL)),
  CHECK (owner_kind <> 'USER' OR bucket IN ('AVAILABLE', 'LOCKED')),
  -- What the exchange owes a user is never negative (the domain checks first; this is the backstop).
  CHECK (owner_kind <> 'USER' OR balance >= 0)
);
CREATE UNIQUE INDEX ledger_accounts_user_key ON ledger_accounts (user_id, currency, bucket) WHERE owner_kind = 'USER';
CREATE UNIQUE INDEX ledger_accounts_system_key ON ledger_accounts (bucket, currency) WHERE owner_kind = 'SYSTEM';

CREATE TABLE journal_transactions (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('ADMIN_ADJUSTMENT')),
  description text NOT NULL,
  -- Producer and its sequence number (the core's event sequence): posting the same event twice
  -- is refused by this unique key, which makes projections idempotent. NULL for local origins.
  source text NOT NULL,
  source_sequence numeric(20, 0),
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source, source_sequence)
);

CREATE TABLE journal_entries (
  transaction_id uuid NOT NULL REFERENCES journal_transactions (id),
  entry_index integer NOT NULL CHECK (entry_index >= 0),
  account_key text NOT NULL REFERENCES ledger_accounts (account_key),
  currency text NOT NULL,
  debit numeric(78, 0) NOT NULL DEFAULT 0 CHECK (debit >= 0),
  credit numeric(78, 0) NOT NULL DEFAULT 0 CHECK (credit >= 0),
  -- The account's balance and version right after this entry: lets an auditor replay any account.
  balance_after numeric(78, 0) NOT NULL,
  account_version bigint NOT NULL,
  PRIMARY KEY (transaction_id, entry_index),
  -- Exactly one side per entry.
  CHECK ((debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0))
);
CREATE INDEX journal_entries_account_idx ON journal_entries (account_key, account_version);

-- Append-only, hash-chained audit log of administrative actions on money.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  actor_user_id uuid NOT NULL,
  actor_role text NOT NULL,
  action text NOT NULL,
  request_id text NOT NULL,
  target_user_id uuid,
  journal_transaction_id uuid REFERENCES journal_transactions (id),
  reason text NOT NULL,
  details jsonb NOT NULL,
  previous_hash text NOT NULL CHECK (length(previous_hash) = 64),
  hash text NOT NULL UNIQUE CHECK (length(hash) = 64)
);

-- The chain head, locked by every append so concurrent appends serialize into one chain.
CREATE TABLE audit_chain_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_hash text NOT NULL,
  length bigint NOT NULL
);
INSERT INTO audit_chain_head (singleton, last_hash, length)
VALUES (true, '0000000000000000000000000000000000000000000000000000000000000000', 0);
