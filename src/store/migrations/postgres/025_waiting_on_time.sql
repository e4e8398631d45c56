-- Readiness by time kept in the row. A claim walked every delayed task (run_after later than now)
-- queued before the ready ones (10,000 such tasks ahead: 1.7-1.9 ms a claim on SQLite). waiting_on_time
-- is 1 for a pending task known to be delayed: written from its run_after where the task is created,
-- edited or put back to pending, and cleared by the walks once its time has come (src/store/sql-due.ts).
-- It only narrows the walk: a claim still checks run_after. The walk's indexes hold the pending tasks
-- that wait for nothing; tasks_not_yet_due holds the marked ones by their time, for the clearing.
ALTER TABLE tasks ADD COLUMN waiting_on_time INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET waiting_on_time = 1
  WHERE status = 'pending' AND run_after > CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT);
DROP INDEX tasks_pending_labels;
CREATE INDEX tasks_pending_labels ON tasks (labels, priority_rank, id) WHERE status = 'pending' AND waiting_on_dependencies = 0 AND waiting_on_time = 0;
DROP INDEX tasks_pending_projects;
CREATE INDEX tasks_pending_projects ON tasks (project, priority_rank, id) WHERE status = 'pending' AND waiting_on_dependencies = 0 AND waiting_on_time = 0 AND project IS NOT NULL;
DROP INDEX tasks_ready;
CREATE INDEX tasks_ready ON tasks (priority_rank, id) WHERE status = 'pending' AND waiting_on_dependencies = 0 AND waiting_on_time = 0;
CREATE INDEX tasks_not_yet_due ON tasks (run_after) WHERE status = 'pending' AND waiting_on_time = 1;
