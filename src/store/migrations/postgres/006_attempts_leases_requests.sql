-- Attempts count real attempts: a claim starts one, giving a task back on purpose (release) returns
-- it, and only work that ends without success (fail, an expired lease) keeps it used. Until now every
-- claim used one for good, so a task released three times had no attempts left. Existing rows are
-- recounted: each release since the task's last retry gives its attempt back.
UPDATE tasks SET attempts = GREATEST(0, attempts - (
  SELECT COUNT(*) FROM task_logs l
  WHERE l.task_id = tasks.id AND l.action = 'released'
    AND l.id > COALESCE((SELECT MAX(r.id) FROM task_logs r WHERE r.task_id = tasks.id AND r.action = 'retried'), 0)
));

-- The length of a task's latest lease (claim, heartbeat or answer), so an expiry names the lease the
-- task really had. Leases running now get it from their last renewal in the log.
ALTER TABLE tasks ADD COLUMN lease_ms BIGINT;
UPDATE tasks SET lease_ms = lease_expires_at - COALESCE(
  (SELECT MAX(l.timestamp) FROM task_logs l WHERE l.task_id = tasks.id AND l.action IN ('claimed', 'heartbeat', 'answered')),
  claimed_at
) WHERE status = 'in_progress' AND lease_expires_at IS NOT NULL;

-- The request a task was created with under an idempotency key (JSON), so the same key sent with a
-- different request is refused, naming the field that differs. Null for tasks without a key.
ALTER TABLE tasks ADD COLUMN idempotency_request TEXT;

-- Pending tasks whose attempts are all used (rows imported so, or left from before the recount):
-- never claimed, failed by the sweeper. Normally empty, so finding them costs nothing.
CREATE INDEX tasks_spent ON tasks (id) WHERE status = 'pending' AND attempts >= max_attempts;
