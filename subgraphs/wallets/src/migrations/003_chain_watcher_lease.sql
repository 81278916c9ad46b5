-- One chain watcher per chain at a time, whatever the number of wallets instances: the holder
-- renews its lease every poll; another instance takes over only after it expired. Crediting
-- requires the lease with time to spare (see src/chain/watcher.ts).
CREATE TABLE chain_watcher_lease (
  chain text PRIMARY KEY CHECK (chain IN ('ethereum')),
  owner text NOT NULL,
  expires_at timestamptz NOT NULL
);
