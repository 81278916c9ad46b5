-- An admin balance adjustment is recorded here BEFORE the core's AdminAdjust is submitted (who
-- asked, why, for what). The journal projection joins it to the FundsMoved ADMIN_ADJUST event it
-- books (event_seq) and writes the BALANCE_ADJUSTED audit record in that same transaction, so an
-- adjustment the core applied is audited even if the ledger dies right after submitting it.
-- (actor_user_id, idempotency_key) makes a retried request answer the first one.
CREATE TABLE admin_adjustment_intents (
  adjustment_id uuid PRIMARY KEY,
  ordinal bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  actor_user_id text NOT NULL,
  actor_role text NOT NULL,
  actor_session_id text,
  request_id text NOT NULL,
  idempotency_key text,
  target_user_id text NOT NULL,
  currency text NOT NULL,
  asset_id integer NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount <> 0),
  reason text NOT NULL,
  after_event_seq bigint NOT NULL,
  requested_at timestamptz NOT NULL,
  event_seq bigint UNIQUE,
  answer_available numeric(78, 0),
  answer_locked numeric(78, 0),
  UNIQUE (actor_user_id, idempotency_key)
);
CREATE INDEX admin_adjustment_intents_unmatched
  ON admin_adjustment_intents (target_user_id, asset_id, amount, after_event_seq) WHERE event_seq IS NULL;
