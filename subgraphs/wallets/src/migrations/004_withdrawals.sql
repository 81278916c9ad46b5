-- Withdrawals (issue 6): a persisted state machine on top of the Transaction row (transactions:
-- user, currency, amount, destination address, status, tx hash, confirmations) and its
-- transaction_status_history. See src/domain/withdrawal.ts for the states and transitions.
--
-- core_withdrawal_id: the numeric id the matching core knows the hold by (WithdrawHold /
-- WithdrawSettle / WithdrawRelease); allocated from a sequence, never reused (the core forgets a
-- settled or released id, so reusing one could hold twice).
-- core_intent: the core command that may be in flight (HOLD, SETTLE, RELEASE), recorded before it
-- is sent together with the core's last event seq; cleared with the outcome in one DB transaction.
CREATE SEQUENCE withdrawal_core_id_seq MINVALUE 1 START WITH 1;

CREATE TABLE withdrawals (
  transaction_id text COLLATE "C" PRIMARY KEY REFERENCES transactions (id),
  user_id text NOT NULL,
  idempotency_key text NOT NULL,
  -- currency|amount base units|lower-case address: a replay with another payload is refused.
  request_fingerprint text NOT NULL,
  core_withdrawal_id bigint NOT NULL UNIQUE CHECK (core_withdrawal_id > 0),
  core_intent text CHECK (core_intent IN ('HOLD', 'SETTLE', 'RELEASE')),
  core_intent_after_event_seq bigint,
  core_intent_at timestamptz,
  hold_event_seq bigint,
  settle_event_seq bigint,
  release_event_seq bigint,
  aml_flags text[] NOT NULL DEFAULT '{}',
  review_decision text CHECK (review_decision IN ('APPROVE', 'REJECT')),
  reviewed_by text,
  review_reason text,
  -- The signed transaction, stored before it is broadcast: a restart rebroadcasts exactly it.
  nonce bigint CHECK (nonce >= 0),
  raw_tx text,
  broadcast_attempts integer NOT NULL DEFAULT 0 CHECK (broadcast_attempts >= 0),
  -- Where the transaction was mined (null while it is not in a block the node knows).
  block_number bigint,
  block_hash text,
  -- Gas the hot wallet paid for it (wei), from its receipt; counted in the custody report.
  network_fee_wei numeric(78, 0),
  failure_reason text,
  -- NEEDS_ATTENTION: why, and the state an operator's retry goes back to.
  attention_reason text,
  attention_from text,
  CHECK (core_intent IS NULL OR core_intent_after_event_seq IS NOT NULL),
  CHECK ((nonce IS NULL) = (raw_tx IS NULL)),
  UNIQUE (user_id, idempotency_key)
);

-- At most one withdrawal per hot-wallet nonce.
CREATE UNIQUE INDEX withdrawals_nonce_idx ON withdrawals (nonce) WHERE nonce IS NOT NULL;
CREATE INDEX withdrawals_intent_idx ON withdrawals (core_intent) WHERE core_intent IS NOT NULL;
CREATE INDEX transactions_type_status_idx ON transactions (type, status);

-- The hot wallet's next nonce (one row per chain): allocated here, reconciled with the node's
-- pending transaction count when the processor starts.
CREATE TABLE hot_wallet (
  chain text PRIMARY KEY CHECK (chain IN ('ethereum')),
  address text NOT NULL,
  next_nonce bigint NOT NULL CHECK (next_nonce >= 0)
);

-- ETH and USDT the operator sent to the hot wallet (found by the chain watcher, like deposits):
-- the operator float of the custody report. Removed when their block is reorged away.
CREATE TABLE hot_wallet_fundings (
  chain text NOT NULL CHECK (chain IN ('ethereum')),
  tx_hash text NOT NULL CHECK (tx_hash ~ '^0x[0-9a-f]{64}$'),
  log_index integer NOT NULL CHECK (log_index >= -1),
  currency text NOT NULL,
  amount_base_units numeric(78, 0) NOT NULL CHECK (amount_base_units > 0),
  block_number bigint NOT NULL CHECK (block_number >= 0),
  PRIMARY KEY (chain, tx_hash, log_index)
);

-- Per-user withdrawal address allowlist: when a user has any entry, only those addresses are accepted.
CREATE TABLE withdrawal_allowlist (
  user_id text NOT NULL,
  address text NOT NULL CHECK (address ~ '^0x[0-9a-f]{40}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, address)
);

-- Who moved a transaction (operator decisions), kept with the status history entry.
ALTER TABLE transaction_status_history ADD COLUMN actor text;
ALTER TABLE transaction_status_history ADD COLUMN reason text;

-- One withdrawal processor (signer, broadcaster, settler) at a time across wallets instances, so
-- two never sign with the same nonce: the holder renews its lease every poll.
CREATE TABLE withdrawal_processor_lease (
  name text PRIMARY KEY CHECK (name IN ('ethereum')),
  owner text NOT NULL,
  expires_at timestamptz NOT NULL
);
