// Writes to the dependency graph: every check (the tasks exist, the task may still gain dependencies,
// no cycle) runs inside the write's transaction, after the locks that make concurrent writers take turns.
import type { TaskStatus } from '../core/types.js';
import { LOCK_NAMES, lockNamed, placeholders, type Dialect, type Queryable } from './db.js';
import { rowToTask, type TaskRow } from './rows.js';
import { appendLog, blockIfDependencyEnded } from './sql-task-writes.js';
import { dependenciesWritten } from './sql-waiting.js';
import type { AddDependenciesOutcome } from '../core/ports.js';

/** States in which a task may still gain dependencies: it has not started. */
const EDITABLE: readonly TaskStatus[] = ['pending', 'blocked'];

/**
 * Locks the dependency graph, then the rows of `ids` (in id order), and returns the status of those
 * that exist. Holding the rows keeps a cancel or retry of a dependency from cascading past an edge
 * that is being added; holding the graph keeps two writers from each missing the other's edge (two
 * opposite edges would make a cycle) and a purge from deleting a task an edge is being added to.
 */
export async function lockGraph(q: Queryable, dialect: Dialect, ids: readonly number[]): Promise<Map<number, TaskStatus>> {
  await lockNamed(q, dialect, LOCK_NAMES.dependencies);
  if (ids.length === 0) return new Map();
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const rows = await q.all<{ id: number; status: TaskStatus }>(
    `SELECT id, status FROM tasks WHERE id IN (${placeholders(sorted.length)}) ORDER BY id ${dialect.rowLock}`,
    sorted,
  );
  return new Map(rows.map((r) => [Number(r.id), r.status]));
}

/** Ids reachable from `from` by following depends_on edges. */
export async function dependencyClosure(q: Queryable, dialect: Dialect, from: readonly number[]): Promise<Set<number>> {
  const rows = await q.all<{ id: number }>(
    `WITH RECURSIVE reach(id) AS (
       SELECT d.value FROM tasks t, ${dialect.listItems.ids('t.depends_on', 'd')} WHERE t.id IN (${placeholders(from.length)}) AND t.depends_on <> '[]'
       UNION SELECT d.value FROM reach r JOIN tasks t ON t.id = r.id, ${dialect.listItems.ids('t.depends_on', 'd')} WHERE t.depends_on <> '[]'
     ) SELECT id FROM reach`,
    [...from],
  );
  return new Set(rows.map((r) => Number(r.id)));
}

export async function addDependencies(q: Queryable, dialect: Dialect, taskId: number, dependsOn: readonly number[], now: number): Promise<AddDependenciesOutcome> {
  const found = await lockGraph(q, dialect, [taskId, ...dependsOn]);
  const current = await q.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [taskId]);
  if (!current) return { ok: false, reason: 'not_found' };
  const task = rowToTask(current);
  if (!EDITABLE.includes(task.status)) return { ok: false, reason: 'not_editable', current: task };
  const missing = dependsOn.filter((id) => !found.has(id));
  if (missing.length > 0) return { ok: false, reason: 'unknown_dependency', missing };
  if (dependsOn.includes(taskId) || (await dependencyClosure(q, dialect, dependsOn)).has(taskId)) return { ok: false, reason: 'cycle' };

  const merged = [...new Set([...task.dependsOn, ...dependsOn])];
  const row = await q.get<TaskRow>('UPDATE tasks SET depends_on = ?, updated_at = ? WHERE id = ? RETURNING *', [JSON.stringify(merged), now, taskId]);
  await dependenciesWritten(q, dialect, taskId, merged);
  let changed = rowToTask(row!);
  const events = [await appendLog(q, taskId, { action: 'dependencies', details: `now depends on ${merged.map((d) => `#${d}`).join(', ')}` }, now, changed)];
  const blocked = await blockIfDependencyEnded(q, taskId, merged, now);
  if (blocked) {
    changed = blocked.task;
    events.push(blocked.event);
  }
  return { ok: true, task: changed, events };
}
