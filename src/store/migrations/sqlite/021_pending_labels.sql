-- Pending tasks by label list, in claiming order. Every labelled claim reads the distinct lists first
-- (labelsCoverAnyPending in src/store/sql-conditions.ts: one probe per list, not a walk of every
-- pending task when the agent's labels cover none of them), and a claim by an agent without labels
-- walks the unlabelled tasks alone, in priority order, passing over the labelled ones.
CREATE INDEX tasks_pending_labels ON tasks (labels, priority_rank, id) WHERE status = 'pending';
