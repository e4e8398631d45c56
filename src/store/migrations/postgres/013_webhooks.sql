-- Signed webhooks: where to send which task events, and a durable outbox of deliveries written in the
-- transaction that records the event (so none is lost across restarts), with every attempt's answer.
CREATE TABLE webhooks (
  id BIGSERIAL PRIMARY KEY,
  url TEXT NOT NULL,
  -- Comma-separated event names, or '*' for every event.
  events TEXT NOT NULL,
  label TEXT COLLATE "C",
  project TEXT COLLATE "C",
  -- Kept as is: every delivery is signed with it (HMAC needs the secret itself, not a hash).
  secret TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  -- Set at the first failed attempt after a success; a webhook failing this long is disabled.
  failing_since BIGINT,
  created_by TEXT,
  created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
  id BIGSERIAL PRIMARY KEY,
  webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  -- No foreign key: a delivery outlives its task (the payload is the task as it was).
  task_id BIGINT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  last_response TEXT,
  -- The event's time (in the body); queued_at is when the retry window started (redelivery restarts it).
  created_at BIGINT NOT NULL,
  queued_at BIGINT NOT NULL,
  delivered_at BIGINT
);
-- Due deliveries are read oldest first (status, then id), next_attempt_at checked on the way.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, id);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, task_id, id);

CREATE TABLE webhook_attempts (
  id BIGSERIAL PRIMARY KEY,
  delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at BIGINT NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  response_excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
