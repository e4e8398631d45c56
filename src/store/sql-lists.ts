// A task's labels and dependencies have one home: its row, as JSON arrays (`labels`, `depends_on`),
// which the API shows as they are. These WHERE fragments read them as rows (Dialect.listItems), over a
// task table alias `t` (`tasks` itself in an UPDATE). A task without labels or dependencies holds '[]',
// tested first so such tasks are never parsed; the partial index tasks_with_dependencies (migration 016)
// keeps the reverse lookups ("which tasks wait on these?") to the tasks that have dependencies.
import { placeholders, type Dialect } from './db.js';

/** The task carries one of `count` labels given as parameters. */
export function hasAnyLabel(d: Dialect, t: string, count: number): string {
  return `(${t}.labels <> '[]' AND EXISTS (SELECT 1 FROM ${d.listItems.text(`${t}.labels`, `${t}_label`)} WHERE ${t}_label.value IN (${placeholders(count)})))`;
}

/** The task carries the label given as one parameter. */
export function hasLabel(d: Dialect, t: string): string {
  return hasAnyLabel(d, t, 1);
}

/** Every label of the task is one of `count` labels given as parameters (true for a task with none). */
export function labelsWithin(d: Dialect, t: string, count: number): string {
  if (count === 0) return `${t}.labels = '[]'`;
  return `(${t}.labels = '[]' OR NOT EXISTS (SELECT 1 FROM ${d.listItems.text(`${t}.labels`, `${t}_label`)} WHERE ${t}_label.value NOT IN (${placeholders(count)})))`;
}

/**
 * Some existing task the task depends on meets `parent` (a condition over the dependency's row, given
 * its alias). A dependency that no longer exists (deleted, purged) meets nothing.
 */
export function someDependency(d: Dialect, t: string, parent: (p: string) => string): string {
  const p = `${t}_parent`;
  return `(${t}.depends_on <> '[]' AND EXISTS (SELECT 1 FROM ${d.listItems.ids(`${t}.depends_on`, `${t}_dep`)} JOIN tasks ${p} ON ${p}.id = ${t}_dep.value WHERE ${parent(p)}))`;
}

/** The task depends on one of `count` task ids given as parameters. */
export function dependsOnAny(d: Dialect, t: string, count: number): string {
  return `(${t}.depends_on <> '[]' AND EXISTS (SELECT 1 FROM ${d.listItems.ids(`${t}.depends_on`, `${t}_dep`)} WHERE ${t}_dep.value IN (${placeholders(count)})))`;
}

/** FROM and WHERE (alias t) of the pending tasks that have dependencies, read through tasks_with_dependencies. */
export function pendingWithDependencies(d: Dialect): string {
  return `tasks t ${d.indexedBy('tasks_with_dependencies')} WHERE t.status = 'pending' AND t.depends_on <> '[]'`;
}

/**
 * The task depends on one of `ids` (pushed to `params`), for a scan of many tasks with dependencies:
 * a text test first, which spares the JSON of tasks that depend on others.
 */
export function dependsOnAnyOf(d: Dialect, t: string, ids: readonly number[], params: unknown[]): string {
  params.push(...ids.map((id) => `%${id}%`), ...ids);
  return `${t}.depends_on <> '[]' AND (${ids.map(() => `${t}.depends_on LIKE ?`).join(' OR ')}) AND ${dependsOnAny(d, t, ids.length)}`;
}

/** Sub-select of the ids that tasks in a state meeting `status` (over alias c) depend on. */
export function dependedOnBy(d: Dialect, status: (c: string) => string): string {
  return `SELECT c_dep.value FROM tasks c, ${d.listItems.ids('c.depends_on', 'c_dep')} WHERE c.depends_on <> '[]' AND ${status('c')}`;
}
