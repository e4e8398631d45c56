// Readiness by dependencies, kept in the row (migration waiting_on_dependencies). A pending task with
// waiting_on_dependencies = 1 is known to wait on a dependency that has not completed, and is left out
// of the indexes every claim walks (tasks_ready, tasks_pending_labels, tasks_pending_projects), so
// tasks waiting on others are not walked one by one on every claim. The flag only narrows the walk: a
// claim still checks every dependency of the task it takes (readyCondition). So a 0 where 1 would be
// true costs a walked row; a 1 where nothing is waited on would keep a task from ever being claimed,
// and is never written:
// - where a task's own dependencies are written (create, edit, added), its flag is read from them
//   under the graph lock (lockGraph holds the task and its dependencies' rows);
// - a task unblocked because a dependency was retried or reopened waits on that dependency, which
//   the unblocking transaction holds pending;
// - any other return to pending writes 0;
// - when a task completes, or leaves completed, and some task depends on it (has_dependants), its
//   pending dependants' rows are locked, then their flag is read again in a statement of its own. On
//   PostgreSQL a statement that waited for a row lock still reads other rows as they were when it
//   began: two dependencies of one task completing at once would each see the other unfinished. The
//   second to lock the dependant reads after the first committed.
import { placeholders, type Dialect, type Queryable } from './db.js';
import { dependedOnBy, dependsOnAnyOf, pendingWithDependencies, someDependency } from './sql-lists.js';
import type { TaskRow } from './rows.js';
import { timeMark } from './sql-due.js';
import type { TransitionSpec } from '../core/ports.js';

/**
 * The walk's part of the pending tasks (over alias `a`): pending, not known to wait on a dependency,
 * nor for its time (sql-due.ts). The predicate of the indexes walks read, said whole so both
 * databases read them.
 */
export const walkedOf = (a: string): string => `${a}.status = 'pending' AND ${a}.waiting_on_dependencies = 0 AND ${a}.waiting_on_time = 0`;

/** walkedOf the task row t. */
export const WALKED = walkedOf('t');

/** SET item: a task's flag from its dependencies' states (over `tasks` in an UPDATE). */
function flagFromDependencies(d: Dialect): string {
  return `waiting_on_dependencies = CASE WHEN ${someDependency(d, 'tasks', (p) => `${p}.status <> 'completed'`)} THEN 1 ELSE 0 END`;
}

/** SET item of a return to pending that does not know what the task waits on (see the comment above). */
export const NOT_KNOWN_WAITING = 'waiting_on_dependencies = 0';

/**
 * SET items of a return to pending written through a transition (taskChange, the batched one): what
 * it waits on not known (NOT_KNOWN_WAITING); delayed from `runAfter`, the SQL of the run_after it
 * has after the write, at `now` (sql-due.ts).
 */
export const backToPending = (runAfter: string, now: string): string => `${NOT_KNOWN_WAITING}, ${timeMark(runAfter, now)}`;

/** SET item of a task unblocked by its dependency's retry or reopen: it waits on that dependency. */
export const WAITING = 'waiting_on_dependencies = 1';

/**
 * A task's dependencies were written (created with them, edited, added to), in a transaction that
 * holds the graph lock and their rows (lockGraph): each is marked as having a dependant, and the
 * task's flag is read from their states.
 */
export async function dependenciesWritten(q: Queryable, d: Dialect, taskId: number, dependsOn: readonly number[]): Promise<void> {
  if (dependsOn.length > 0) {
    await q.run(`UPDATE tasks SET has_dependants = 1 WHERE id IN (${placeholders(dependsOn.length)}) AND has_dependants = 0`, [...dependsOn]);
  }
  await q.run(`UPDATE tasks SET ${flagFromDependencies(d)} WHERE id = ?`, [taskId]);
}

/**
 * Tasks (ids) that completed or left completed in this transaction, which holds their rows: their
 * pending dependants' rows are locked (in id order), then their flag is read again.
 */
async function dependantsRefreshed(q: Queryable, d: Dialect, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  const params: unknown[] = [];
  const dependants = (
    await q.all<{ id: number }>(
      `SELECT t.id FROM ${pendingWithDependencies(d)} AND ${dependsOnAnyOf(d, 't', ids, params)} ORDER BY t.id ${d.rowLock}`,
      params,
    )
  ).map((r) => Number(r.id));
  if (dependants.length === 0) return;
  await q.run(`UPDATE tasks SET ${flagFromDependencies(d)} WHERE id IN (${placeholders(dependants.length)}) AND status = 'pending'`, dependants);
}

/**
 * After a transition (`spec`) changed `rows`, in its transaction: when it completes tasks or may take
 * them out of completed, the dependants of those some task depends on (dependantsRefreshed).
 */
export async function afterTransition(q: Queryable, d: Dialect, spec: Pick<TransitionSpec, 'set' | 'from'>, rows: readonly TaskRow[]): Promise<void> {
  const status = spec.set.status;
  if (status === undefined || (status !== 'completed' && !spec.from.includes('completed'))) return;
  await dependantsRefreshed(q, d, rows.filter((row) => Number(row.has_dependants) === 1).map((row) => Number(row.id)));
}

/** Every task's flags read from the graph: after an import or a copy of a whole queue, in its transaction. */
export async function flagsFromGraph(q: Queryable, d: Dialect): Promise<void> {
  await q.run(`UPDATE tasks SET has_dependants = 1 WHERE id IN (${dependedOnBy(d, () => '1 = 1')})`);
  await q.run(`UPDATE tasks SET ${flagFromDependencies(d)} WHERE status = 'pending' AND depends_on <> '[]'`);
}
