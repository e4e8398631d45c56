-- The original Athena tables (tasks, task_logs, instances) with what leases, retries,
-- labels, dependencies and idempotent creates need. Times are integer milliseconds (UTC).

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  description TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  priority TEXT NOT NULL DEFAULT 'medium',
  priority_rank INTEGER NOT NULL DEFAULT 1,
  instance_id TEXT,
  instance_name TEXT,
  created_at INTEGER NOT NULL,
  claimed_at INTEGER,
  completed_at INTEGER,
  notes TEXT,
  submitted_by TEXT,
  project TEXT,
  labels TEXT NOT NULL DEFAULT '[]',
  depends_on TEXT NOT NULL DEFAULT '[]',
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  run_after INTEGER NOT NULL DEFAULT 0,
  lease_token TEXT,
  lease_expires_at INTEGER,
  result TEXT,
  error TEXT,
  question TEXT,
  answer TEXT,
  blocked_reason TEXT,
  idempotency_key TEXT UNIQUE,
  updated_at INTEGER NOT NULL
);
CREATE INDEX tasks_queue ON tasks (status, priority_rank, id);
CREATE INDEX tasks_lease ON tasks (status, lease_expires_at);
CREATE INDEX tasks_instance ON tasks (instance_id, status);
CREATE INDEX tasks_updated ON tasks (status, updated_at);

CREATE TABLE task_labels (
  task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  PRIMARY KEY (task_id, label)
);

CREATE TABLE task_deps (
  task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  depends_on INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, depends_on)
);
CREATE INDEX task_deps_depends_on ON task_deps (depends_on);

-- The audit trail and, by its increasing id, the change feed (dashboard SSE, notification outbox).
CREATE TABLE task_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id INTEGER,
  action TEXT NOT NULL,
  details TEXT,
  instance_id TEXT,
  timestamp INTEGER NOT NULL,
  payload TEXT
);
CREATE INDEX task_logs_task ON task_logs (task_id, id);
CREATE INDEX task_logs_time ON task_logs (timestamp);

CREATE TABLE instances (
  id TEXT PRIMARY KEY,
  name TEXT,
  last_seen INTEGER,
  current_task_id INTEGER,
  status TEXT NOT NULL DEFAULT 'idle'
);

-- Positions of event consumers (e.g. the Discord notifier) in task_logs.
CREATE TABLE cursors (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
