-- Review: a task created with review: true goes to in_review when its agent completes it; a person
-- accepts it (completed) or requests changes (pending again, the feedback kept for the next agent,
-- which for a while is preferably the agent that did the work). `runs` counts claims, so each run's
-- output is kept apart even when a release or a review round gives its attempt back.
ALTER TABLE tasks ADD COLUMN review_required INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN review_feedback TEXT;
ALTER TABLE tasks ADD COLUMN preferred_instance_id TEXT;
ALTER TABLE tasks ADD COLUMN preferred_until INTEGER;
ALTER TABLE tasks ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET runs = attempts;
