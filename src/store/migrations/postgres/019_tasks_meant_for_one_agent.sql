-- Claims served together (sql-claim-batch.ts) leave an agent to its own claim when a pending task is
-- meant for it alone: assigned to it, or kept for it after a review asked for changes. These
-- indexes answer "is there one?" from the few such tasks instead of a walk over every pending task.
CREATE INDEX tasks_assigned_pending ON tasks (assignee) WHERE status = 'pending' AND assignee IS NOT NULL;
CREATE INDEX tasks_preferred_pending ON tasks (preferred_instance_id, preferred_until) WHERE status = 'pending' AND preferred_instance_id IS NOT NULL;
