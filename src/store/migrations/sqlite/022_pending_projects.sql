-- Pending tasks by project, in claiming order. A claim by an agent serving some projects reads each
-- project's first tasks from here (claimSlices in src/store/sql-conditions.ts) instead of walking
-- every pending task in priority order: with 100,000 queued and none in its projects, that walk took
-- 22 ms on SQLite (the process's one connection held meanwhile) and 23 ms on PostgreSQL, on every
-- claim and every long-poll look.
CREATE INDEX tasks_pending_projects ON tasks (project, priority_rank, id) WHERE status = 'pending' AND project IS NOT NULL;
