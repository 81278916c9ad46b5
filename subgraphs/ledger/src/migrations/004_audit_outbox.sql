-- The ledger's audit events (BALANCE_ADJUSTED) go to the exchange-wide audit chain through this
-- outbox (written in the same transaction as the action, shipped to identity by the relay). The
-- ledger-local audit_log of 001 is no longer written; it stays for its history.
CREATE TABLE audit_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_key text NOT NULL UNIQUE,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  shipped_at timestamptz
);
CREATE INDEX audit_outbox_unshipped ON audit_outbox (id) WHERE shipped_at IS NULL;
