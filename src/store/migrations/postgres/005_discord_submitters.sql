-- Who queued a task from Discord, by Discord user id (as sqlite/005_discord_submitters.sql): ownership
-- is decided by this id, never by the name `submitted_by` shows, which anyone can share.
CREATE TABLE discord_submitters (
  task_id BIGINT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
