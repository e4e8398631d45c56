-- Leaner indexes (as sqlite/002_lean_indexes.sql): each transition rewrote every index that contains
-- `status`. Partial indexes hold only the rows a query looks for, so a claim or completion touches
-- fewer pages per commit.
DROP INDEX tasks_lease;
DROP INDEX tasks_instance;
DROP INDEX tasks_updated;
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status = 'in_progress';
CREATE INDEX tasks_held ON tasks (instance_id) WHERE status IN ('in_progress', 'needs_input');
CREATE INDEX tasks_finished ON tasks (updated_at) WHERE status IN ('completed', 'cancelled');
