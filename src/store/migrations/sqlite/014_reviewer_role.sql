-- A `reviewer` key role (may read and decide reviews, nothing more). SQLite cannot change a CHECK
-- constraint in place, so api_keys is rebuilt with the same columns and rows; nothing references it.
CREATE TABLE api_keys_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'reader', 'reviewer')),
  instance_id TEXT,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);
INSERT INTO api_keys_new (id, name, role, instance_id, key_hash, prefix, created_at, last_used_at, revoked_at)
  SELECT id, name, role, instance_id, key_hash, prefix, created_at, last_used_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
