-- Issue 5: sign-out everywhere, brute-force throttling, TOTP, API keys, KYC, tiers, audit chain.

ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
  CHECK (revoked_reason IN ('LOGOUT', 'REFRESH_TOKEN_REUSE', 'LOGOUT_ALL', 'TWO_FACTOR_DISABLED'));

-- TOTP: secrets are stored encrypted (AES-256-GCM, key derived from JWT_SECRET); `totp_last_step`
-- is the last accepted time step, so a code is never accepted twice (login, API keys and
-- withdrawals share it).
ALTER TABLE users ADD COLUMN totp_secret_enc text;
ALTER TABLE users ADD COLUMN totp_pending_secret_enc text;
ALTER TABLE users ADD COLUMN totp_last_step bigint;
-- KYC tier: 0 = none (no withdrawals), 1 = basic, 2 = enhanced.
ALTER TABLE users ADD COLUMN kyc_tier integer NOT NULL DEFAULT 0 CHECK (kyc_tier BETWEEN 0 AND 2);
ALTER TABLE users ADD CONSTRAINT users_two_factor_has_secret
  CHECK (NOT two_factor_enabled OR totp_secret_enc IS NOT NULL);

-- Failed sign-ins per email (hashed), whether or not an account has that email: unknown and known
-- emails lock the same way, so a lockout reveals nothing about which accounts exist.
CREATE TABLE login_throttle (
  subject_hash text PRIMARY KEY CHECK (length(subject_hash) = 64),
  failures integer NOT NULL CHECK (failures >= 0),
  window_started_at timestamptz NOT NULL,
  locked_until timestamptz
);

CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  -- SHA-256 (hex) of the secret; the secret itself is shown once and never stored.
  secret_hash text NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
  -- First characters of the secret, so a user can tell keys apart.
  secret_prefix text NOT NULL,
  scopes text[] NOT NULL,
  ip_allowlist text[] NOT NULL DEFAULT '{}',
  persisted_only boolean NOT NULL DEFAULT false,
  expires_at timestamptz,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);

CREATE TABLE kyc_cases (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  status text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
  personal_data jsonb NOT NULL,
  documents jsonb NOT NULL,
  submitted_at timestamptz NOT NULL,
  decided_at timestamptz,
  -- 'provider:<name>' or the reviewing compliance officer's user id.
  decided_by text,
  decision_reason text,
  tier integer CHECK (tier BETWEEN 0 AND 2),
  provider_reference text,
  CHECK ((status = 'PENDING') = (decided_at IS NULL))
);
CREATE INDEX kyc_cases_user_id_idx ON kyc_cases (user_id);
CREATE INDEX kyc_cases_status_idx ON kyc_cases (status, submitted_at);
-- At most one open case per user.
CREATE UNIQUE INDEX kyc_cases_one_pending ON kyc_cases (user_id) WHERE status = 'PENDING';

-- Nonces of accepted provider webhooks (replay protection; older than the accepted clock skew they
-- can be purged, because such a timestamp is refused anyway).
CREATE TABLE kyc_webhook_nonces (
  nonce text PRIMARY KEY CHECK (length(nonce) BETWEEN 16 AND 128),
  received_at timestamptz NOT NULL
);

-- Append-only, hash-chained audit log of security, KYC and admin actions.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  actor text NOT NULL,
  actor_role text NOT NULL,
  action text NOT NULL,
  request_id text NOT NULL,
  target_user_id uuid,
  details jsonb NOT NULL,
  previous_hash text NOT NULL CHECK (length(previous_hash) = 64),
  hash text NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE TABLE audit_chain_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  head_hash text NOT NULL CHECK (length(head_hash) = 64)
);
INSERT INTO audit_chain_head (head_hash) VALUES (repeat('0', 64));
