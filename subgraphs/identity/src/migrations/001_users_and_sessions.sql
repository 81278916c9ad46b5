-- Users, sessions and rotating refresh tokens.

CREATE TABLE users (
  id uuid PRIMARY KEY,
  -- Normalised by the application (trimmed, NFC, lower-case); the check keeps it that way.
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  -- argon2id PHC string.
  password_hash text NOT NULL,
  role text NOT NULL DEFAULT 'USER' CHECK (role IN ('USER', 'SUPPORT', 'COMPLIANCE', 'ADMIN')),
  kyc_status text NOT NULL DEFAULT 'NONE' CHECK (kyc_status IN ('NONE', 'PENDING', 'APPROVED', 'REJECTED')),
  two_factor_enabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- A session is one sign-in and the family of refresh tokens rotated from it. Revoking it stops
-- every refresh token of the family.
CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL,
  last_refreshed_at timestamptz,
  revoked_at timestamptz,
  revoked_reason text CHECK (revoked_reason IN ('LOGOUT', 'REFRESH_TOKEN_REUSE')),
  CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- Refresh tokens are stored as the SHA-256 (hex) of the opaque secret, never in clear.
-- A token is single-use: `used_at` is set when it is exchanged; presenting it again is reuse.
CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY CHECK (length(token_hash) = 64),
  session_id uuid NOT NULL REFERENCES sessions (id),
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
