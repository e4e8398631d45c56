-- Lists of one state, newest first (the dashboard's columns, /done, GET /api/tasks?status=completed),
-- walk this index instead of sorting every task in that state.
CREATE INDEX tasks_status_recent ON tasks (status, id);
