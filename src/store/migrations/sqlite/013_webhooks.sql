-- Signed webhooks: where to send which task events, and a durable outbox of deliveries written in the
-- transaction that records the event (so none is lost across restarts), with every attempt's answer.
CREATE TABLE webhooks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL,
  -- Comma-separated event names, or '*' for every event.
  events TEXT NOT NULL,
  label TEXT,
  project TEXT,
  -- Kept as is: every delivery is signed with it (HMAC needs the secret itself, not a hash).
  secret TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  -- Set at the first failed attempt after a success; a webhook failing this long is disabled.
  failing_since INTEGER,
  created_by TEXT,
  created_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  -- No foreign key: a delivery outlives its task (the payload is the task as it was).
  task_id INTEGER NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  last_response TEXT,
  -- The event's time (in the body); queued_at is when the retry window started (redelivery restarts it).
  created_at INTEGER NOT NULL,
  queued_at INTEGER NOT NULL,
  delivered_at INTEGER
);
-- Due deliveries are read oldest first (status, then id), next_attempt_at checked on the way.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, id);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, task_id, id);

CREATE TABLE webhook_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  response_excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
