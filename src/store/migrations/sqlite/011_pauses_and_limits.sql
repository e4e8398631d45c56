-- Pauses (claims hand out nothing in the scope; value '' for the whole queue) and concurrency limits
-- (at most max_held tasks of a label or project held at once). Both read by every claim.
CREATE TABLE queue_pauses (
  kind TEXT NOT NULL CHECK (kind IN ('queue', 'label', 'project')),
  value TEXT NOT NULL,
  paused_by TEXT,
  reason TEXT,
  paused_at INTEGER NOT NULL,
  PRIMARY KEY (kind, value)
);
CREATE TABLE concurrency_limits (
  kind TEXT NOT NULL CHECK (kind IN ('label', 'project')),
  value TEXT NOT NULL,
  max_held INTEGER NOT NULL CHECK (max_held >= 0),
  set_by TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kind, value)
);
