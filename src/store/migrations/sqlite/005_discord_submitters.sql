-- Who queued a task from Discord, by Discord user id: ownership (cancel, priority, retry of one's own
-- task) is decided by this id, never by the name `submitted_by` shows, which anyone can share.
CREATE TABLE discord_submitters (
  task_id INTEGER PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
