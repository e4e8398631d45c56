-- Peek holds (GET /api/tasks/next): a task just shown to one caller is passed over by other callers'
-- peeks until held_until. Written in the peek's transaction; later peeks delete expired rows. No
-- foreign key: a hold on a task that is gone matches nothing and expires.
CREATE TABLE peek_holds (
  task_id INTEGER PRIMARY KEY,
  holder TEXT,
  held_until INTEGER NOT NULL
);
CREATE INDEX peek_holds_held_until ON peek_holds (held_until);
