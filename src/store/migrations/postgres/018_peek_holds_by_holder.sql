-- A peek naming its caller looks for that caller's own live hold first: found through this index, it
-- costs the caller's few holds instead of a walk over every pending task (SQLite's planner walked
-- the queue index, in queue order, to the end whenever the caller held nothing pending).
CREATE INDEX peek_holds_holder ON peek_holds (holder, held_until);
