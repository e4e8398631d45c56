-- The same tables as sqlite/001_init.sql, so rows.ts reads both alike: BIGSERIAL ids, BIGINT
-- millisecond times (UTC), JSON kept as TEXT. Ids and labels compare bytewise (COLLATE "C"),
-- as SQLite's BINARY does, so lists sort the same on both backends.

CREATE TABLE tasks (
  id BIGSERIAL PRIMARY KEY,
  description TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  priority TEXT NOT NULL DEFAULT 'medium',
  priority_rank INTEGER NOT NULL DEFAULT 1,
  instance_id TEXT COLLATE "C",
  instance_name TEXT,
  created_at BIGINT NOT NULL,
  claimed_at BIGINT,
  completed_at BIGINT,
  notes TEXT,
  submitted_by TEXT,
  project TEXT COLLATE "C",
  labels TEXT NOT NULL DEFAULT '[]',
  depends_on TEXT NOT NULL DEFAULT '[]',
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  run_after BIGINT NOT NULL DEFAULT 0,
  lease_token TEXT,
  lease_expires_at BIGINT,
  result TEXT,
  error TEXT,
  question TEXT,
  answer TEXT,
  blocked_reason TEXT,
  idempotency_key TEXT UNIQUE,
  updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_queue ON tasks (status, priority_rank, id);
CREATE INDEX tasks_lease ON tasks (status, lease_expires_at);
CREATE INDEX tasks_instance ON tasks (instance_id, status);
CREATE INDEX tasks_updated ON tasks (status, updated_at);

CREATE TABLE task_labels (
  task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  label TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (task_id, label)
);

CREATE TABLE task_deps (
  task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  depends_on BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, depends_on)
);
CREATE INDEX task_deps_depends_on ON task_deps (depends_on);

-- The audit trail and, by its increasing id, the change feed (dashboard SSE, notification outbox).
CREATE TABLE task_logs (
  id BIGSERIAL PRIMARY KEY,
  task_id BIGINT,
  action TEXT NOT NULL,
  details TEXT,
  instance_id TEXT COLLATE "C",
  timestamp BIGINT NOT NULL,
  payload TEXT
);
CREATE INDEX task_logs_task ON task_logs (task_id, id);
CREATE INDEX task_logs_time ON task_logs (timestamp);

CREATE TABLE instances (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT,
  last_seen BIGINT,
  current_task_id BIGINT,
  status TEXT NOT NULL DEFAULT 'idle'
);

-- Positions of event consumers (e.g. the Discord notifier) in task_logs.
CREATE TABLE cursors (
  name TEXT COLLATE "C" PRIMARY KEY,
  position BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
