-- Per-agent API keys (as sqlite/003_api_keys.sql). Only the SHA-256 of a key is kept (the key itself
-- is shown once, when it is created), with a short prefix so operators can tell keys apart.

CREATE TABLE api_keys (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'reader')),
  instance_id TEXT COLLATE "C",
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
