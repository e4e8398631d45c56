-- A task's labels and dependencies have one home: its row's JSON arrays (labels, depends_on), which
-- every write already kept and every read already showed. The tables that repeated them as rows go;
-- queries read the arrays (store/sql-lists.ts). A dependency that no longer exists is met by nothing,
-- as when the table's rows cascaded away with it.
DROP TABLE task_labels;
DROP TABLE task_deps;
-- Which tasks wait on these? Looked up when a task fails, is cancelled, deleted or purged: only the
-- tasks that have dependencies are read.
CREATE INDEX tasks_with_dependencies ON tasks (status) WHERE depends_on <> '[]';
