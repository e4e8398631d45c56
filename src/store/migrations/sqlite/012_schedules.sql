-- Schedules: a template task created on a cron expression in a time zone. next_run_at is the first
-- occurrence not yet handled (NULL once the end date passed); schedule_runs keeps one row per
-- handled occurrence, and its UNIQUE (schedule_id, run_at) makes a run happen once even when two
-- replicas believe they lead. Tasks a schedule created carry its id.
CREATE TABLE schedules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cron TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  -- The task to create, as JSON: description, priority, notes, project, labels, max_attempts, assignee, review.
  template TEXT NOT NULL,
  ends_at INTEGER,
  missed TEXT NOT NULL DEFAULT 'skip' CHECK (missed IN ('skip', 'once')),
  overlap INTEGER NOT NULL DEFAULT 0,
  paused INTEGER NOT NULL DEFAULT 0,
  next_run_at INTEGER,
  last_run_at INTEGER,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_run_at);

CREATE TABLE schedule_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  schedule_id INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  run_at INTEGER NOT NULL,
  -- created: a task was made; open: skipped, the previous task was still open; manual: run now.
  outcome TEXT NOT NULL,
  task_id INTEGER,
  -- Occurrences this run stands for (more than 1 after downtime with missed = 'once').
  covers INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  UNIQUE (schedule_id, run_at)
);

ALTER TABLE tasks ADD COLUMN schedule_id INTEGER;
CREATE INDEX tasks_schedule ON tasks (schedule_id) WHERE schedule_id IS NOT NULL;
