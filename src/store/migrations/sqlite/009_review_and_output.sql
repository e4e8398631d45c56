-- Review: a task created with review: true goes to in_review when its agent completes it; a person
-- accepts it (completed) or requests changes (pending again, the feedback kept for the next agent,
-- which for a while is preferably the agent that did the work). `runs` counts claims, so each run's
-- output is kept apart even when a release or a review round gives its attempt back.
ALTER TABLE tasks ADD COLUMN review_required INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN review_feedback TEXT;
ALTER TABLE tasks ADD COLUMN preferred_instance_id TEXT;
ALTER TABLE tasks ADD COLUMN preferred_until INTEGER;
ALTER TABLE tasks ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET runs = attempts;

-- Live output of each run of a task, as its worker sent it: byte ranges of the run's output, the
-- newest OUTPUT_MAX_BYTES kept. Removed with its task.
CREATE TABLE task_output (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  run INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  byte_length INTEGER NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX task_output_by_run ON task_output (task_id, run, start_offset);
