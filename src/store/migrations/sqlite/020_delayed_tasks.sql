-- The earliest delayed task a long-poll waiter must wake up for (nextRunAfter: a pending task whose
-- run_after is in the future) was found by reading every pending task: 140 ms with 1,000,000 of them
-- queued, once for every claim that found nothing to take. Tasks that were never delayed (run_after
-- 0, most of them) stay out of this index, so creating one costs nothing here.
CREATE INDEX tasks_delayed ON tasks (run_after) WHERE status = 'pending' AND run_after > 0;
