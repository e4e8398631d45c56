-- instances.current_task_id was never written: an agent's current task is read from the tasks it holds
-- (sql-reads.ts computes it), so the column only misled readers of the schema.
ALTER TABLE instances DROP COLUMN current_task_id;
