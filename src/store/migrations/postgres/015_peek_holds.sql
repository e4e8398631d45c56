-- Peek holds (GET /api/tasks/next): a task just shown to one caller is passed over by other callers'
-- peeks until held_until, on every replica. Written by the peek's own statement; later peeks delete
-- expired rows. UNLOGGED: a hold lasts seconds, so losing them in a crash costs nothing and saves the
-- WAL write of every peek. No foreign key: a hold on a task that is gone matches nothing and expires.
CREATE UNLOGGED TABLE peek_holds (
  task_id BIGINT PRIMARY KEY,
  holder TEXT,
  held_until BIGINT NOT NULL
);
CREATE INDEX peek_holds_held_until ON peek_holds (held_until);
