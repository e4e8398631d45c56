-- Everyday task management: an assignee (only that agent may claim the task), what the holder has
-- not yet seen (an edited description, new comments; told at its next heartbeat), and comments.
ALTER TABLE tasks ADD COLUMN assignee TEXT;
ALTER TABLE tasks ADD COLUMN description_unseen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN comments_unseen_from BIGINT;

CREATE TABLE task_comments (
  id BIGSERIAL PRIMARY KEY,
  task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  author TEXT NOT NULL,
  body TEXT NOT NULL,
  -- Where it was written: api, dashboard, discord, agent, cli, mcp. A comment from Discord is not
  -- posted back into the thread it came from.
  source TEXT NOT NULL,
  discord_message_id TEXT UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE INDEX task_comments_task ON task_comments (task_id, id);
