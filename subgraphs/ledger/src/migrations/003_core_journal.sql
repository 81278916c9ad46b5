-- The journal becomes a double-entry projection of every core event (the money trail): deposits,
-- withdrawal hold/settle/release, trades with their fees, order holds and releases, admin
-- adjustments. Every transaction comes from one core event (`event_seq`, plus a small `leg` when one
-- event needs more than one transaction), so the journal is idempotent by event sequence and
-- rebuildable from the core's event log.
--
-- The previous journal booked only admin adjustments against an aggregate CORE_USER_BALANCES
-- account; it cannot be continued per user, so it is replaced and rebuilt from event 0: the
-- projection position is reset and the core's view (core_balances) is rebuilt in the same replay.
-- The old ledger-local audit_log stays as it was (the exchange-wide audit chain replaces it), only
-- its foreign key to the old journal goes.

ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_journal_transaction_id_fkey;
DROP TABLE journal_entries;
DROP TABLE journal_transactions;
DROP TABLE ledger_accounts;
DELETE FROM core_balances;
DELETE FROM projection_positions;

-- Markets (from MarketAdded): a trade's base and quote assets.
CREATE TABLE core_markets (
  market_id integer PRIMARY KEY,
  symbol text NOT NULL UNIQUE,
  base_asset_id integer NOT NULL REFERENCES core_assets (asset_id),
  quote_asset_id integer NOT NULL REFERENCES core_assets (asset_id)
);

-- One row per ledger account with its running balance (Σ credits − Σ debits of its entries, in
-- base units) and version (number of transactions that touched it), written in the same database
-- transaction as the entries.
CREATE TABLE ledger_accounts (
  account_key text PRIMARY KEY,
  owner_kind text NOT NULL CHECK (owner_kind IN ('USER', 'SYSTEM')),
  -- The user reference as the core reports it (identity's UUID).
  user_id text,
  currency text NOT NULL,
  -- AVAILABLE | LOCKED | WITHDRAWING for users; FEE_REVENUE | CUSTODY | ADJUSTMENTS for the system.
  bucket text NOT NULL,
  balance numeric(78, 0) NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  CHECK ((owner_kind = 'USER') = (user_id IS NOT NULL)),
  CHECK (
    (owner_kind = 'USER' AND bucket IN ('AVAILABLE', 'LOCKED', 'WITHDRAWING'))
    OR (owner_kind = 'SYSTEM' AND bucket IN ('FEE_REVENUE', 'CUSTODY', 'ADJUSTMENTS'))
  ),
  -- What the exchange owes a user is never negative (the projection asserts first; this is the backstop).
  CHECK (owner_kind <> 'USER' OR balance >= 0)
);
CREATE UNIQUE INDEX ledger_accounts_user_key ON ledger_accounts (user_id, currency, bucket) WHERE owner_kind = 'USER';
CREATE UNIQUE INDEX ledger_accounts_system_key ON ledger_accounts (bucket, currency) WHERE owner_kind = 'SYSTEM';

CREATE TABLE journal_transactions (
  -- The core event this transaction books, and which of that event's transactions it is.
  event_seq bigint NOT NULL CHECK (event_seq > 0),
  leg smallint NOT NULL CHECK (leg >= 0),
  -- The core command that caused the event.
  command_seq bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN (
    'DEPOSIT', 'WITHDRAWAL_HOLD', 'WITHDRAWAL_SETTLE', 'WITHDRAWAL_RELEASE', 'ADMIN_ADJUSTMENT',
    'TRADE', 'ORDER_HOLD', 'ORDER_RELEASE'
  )),
  description text NOT NULL,
  -- The core's command time.
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_seq, leg)
);

CREATE TABLE journal_entries (
  event_seq bigint NOT NULL,
  leg smallint NOT NULL,
  entry_index smallint NOT NULL CHECK (entry_index >= 0),
  account_key text NOT NULL REFERENCES ledger_accounts (account_key),
  currency text NOT NULL,
  debit numeric(78, 0) NOT NULL DEFAULT 0 CHECK (debit >= 0),
  credit numeric(78, 0) NOT NULL DEFAULT 0 CHECK (credit >= 0),
  -- The account's balance and version right after this entry: lets an auditor replay any account.
  balance_after numeric(78, 0) NOT NULL,
  account_version bigint NOT NULL,
  PRIMARY KEY (event_seq, leg, entry_index),
  FOREIGN KEY (event_seq, leg) REFERENCES journal_transactions (event_seq, leg),
  -- Exactly one side per entry.
  CHECK ((debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0))
);
-- Account.entries: newest first per account.
CREATE INDEX journal_entries_account_idx ON journal_entries (account_key, event_seq DESC, leg DESC, entry_index DESC);

-- Append-only: the journal is never edited or deleted, only appended to (a rebuild starts from an
-- empty schema).
CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER journal_transactions_append_only BEFORE UPDATE OR DELETE ON journal_transactions
  FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION journal_append_only();
