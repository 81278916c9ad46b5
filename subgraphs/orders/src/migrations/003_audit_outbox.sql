-- Issue 6: audit records of order placements and cancels, written in the projection's transaction
-- and shipped to identity's audit chain by the relay (runtime `audit/outbox.ts`, `auditOutboxSql`).
CREATE TABLE audit_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_key text NOT NULL UNIQUE,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  shipped_at timestamptz
);
CREATE INDEX audit_outbox_unshipped ON audit_outbox (id) WHERE shipped_at IS NULL;
