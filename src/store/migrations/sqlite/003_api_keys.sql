-- Per-agent API keys. Only the SHA-256 of a key is kept (the key itself is shown once, when it is
-- created), with a short prefix so operators can tell keys apart. A revoked key keeps its row.

CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'reader')),
  instance_id TEXT,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);
