-- The shared audit outbox (runtime/src/audit/outbox.ts auditOutboxSql, verbatim): every withdrawal
-- transition and every credited deposit is recorded here in the same DB transaction, and the
-- relay ships the rows to identity's hash-chained audit log.
CREATE TABLE audit_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_key text NOT NULL UNIQUE,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  shipped_at timestamptz
);
CREATE INDEX audit_outbox_unshipped ON audit_outbox (id) WHERE shipped_at IS NULL;
