-- Pending tasks without a project that wait for nothing, in claiming order. While a pause or a
-- reached limit holds back a project's tasks, a claim by an agent serving every project reads the
-- first tasks of each other project (tasks_pending_projects) and of none (here), instead of walking
-- the held-back tasks one by one: 10,000 of a paused project ahead of the ready ones cost a claim
-- 1.6 ms on SQLite, 2.0 ms behind a project at its limit (src/store/sql-held-back.ts).
CREATE INDEX tasks_pending_unprojected ON tasks (priority_rank, id) WHERE status = 'pending' AND waiting_on_dependencies = 0 AND waiting_on_time = 0 AND project IS NULL;
