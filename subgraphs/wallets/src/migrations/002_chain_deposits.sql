-- On-chain deposits found by the chain watcher, credited to the core exactly once.
--
-- One row per (chain, tx hash, log index); log_index -1 is a native ETH value transfer (it has no
-- log). The Transaction row (transactions) carries user, currency, amount, status, confirmations.
-- credit_state: NONE (not yet submitted), SUBMITTING (a core Deposit may be in flight: intent
-- recorded before submitting, with the core's last event seq at that moment), CREDITED (the core
-- accepted it; core_seq/core_event_seq say where), REJECTED (the core refused it: an operator case).
CREATE TABLE chain_deposits (
  transaction_id text COLLATE "C" PRIMARY KEY REFERENCES transactions (id),
  chain text NOT NULL CHECK (chain IN ('ethereum')),
  tx_hash text NOT NULL CHECK (tx_hash ~ '^0x[0-9a-f]{64}$'),
  log_index integer NOT NULL CHECK (log_index >= -1),
  block_number bigint NOT NULL CHECK (block_number >= 0),
  block_hash text NOT NULL CHECK (block_hash ~ '^0x[0-9a-f]{64}$'),
  credit_state text NOT NULL DEFAULT 'NONE'
    CHECK (credit_state IN ('NONE', 'SUBMITTING', 'CREDITED', 'REJECTED')),
  credit_after_event_seq bigint,
  core_seq bigint,
  core_event_seq bigint,
  core_result_code integer,
  credited_at timestamptz,
  UNIQUE (chain, tx_hash, log_index),
  CHECK (credit_state = 'NONE' OR credit_after_event_seq IS NOT NULL),
  CHECK (credit_state <> 'CREDITED' OR (core_seq IS NOT NULL AND credited_at IS NOT NULL))
);

-- At most one core Deposit in flight at any time: recovery after a crash can then attribute the
-- first matching FundsMoved DEPOSIT after credit_after_event_seq to that one deposit.
CREATE UNIQUE INDEX chain_deposits_one_submitting ON chain_deposits ((true)) WHERE credit_state = 'SUBMITTING';
CREATE INDEX chain_deposits_block_idx ON chain_deposits (chain, block_number);

-- Every status a transaction went through, in order, with when and at which block it happened.
CREATE TABLE transaction_status_history (
  transaction_id text COLLATE "C" NOT NULL REFERENCES transactions (id),
  position integer NOT NULL CHECK (position >= 0),
  status text NOT NULL CHECK (status ~ '^[A-Z_]{1,32}$'),
  block_number bigint,
  confirmations integer NOT NULL CHECK (confirmations >= 0),
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (transaction_id, position)
);

-- Where the watcher is: the last block it scanned (and its hash, to notice a reorg under it).
CREATE TABLE chain_cursor (
  chain text PRIMARY KEY CHECK (chain IN ('ethereum')),
  block_number bigint NOT NULL CHECK (block_number >= 0),
  block_hash text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Hashes of recently scanned blocks (the unconfirmed window and a margin), to find the fork point.
CREATE TABLE chain_blocks (
  chain text NOT NULL CHECK (chain IN ('ethereum')),
  block_number bigint NOT NULL CHECK (block_number >= 0),
  block_hash text NOT NULL,
  parent_hash text NOT NULL,
  PRIMARY KEY (chain, block_number)
);

-- The watcher looks up the owners of a block's recipient addresses (compared in lower case).
CREATE INDEX deposit_addresses_lower_address_idx ON deposit_addresses (lower(address));
