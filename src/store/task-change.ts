// One change to one task row: the UPDATE's SET list (columns from core/task-fields.ts), and the one statement that applies it.
import { TASK_FIELDS, taskField, type TaskField } from '../core/task-fields.js';
import type { Priority } from '../core/types.js';
import type { Queryable } from './db.js';
import type { TaskRow } from './rows.js';
import { priorityRank, storedValue } from './task-columns.js';
import { backToPending } from './sql-waiting.js';
import { TIME_PARAM } from './sql-due.js';
import type { AttemptChange, TaskPatch } from '../core/ports.js';

/** The fields a transition may set (TaskPatch's keys), by name. */
const PATCH_FIELDS = new Map<string, TaskField>(TASK_FIELDS.map((f) => [f.name, f]));
const PRIORITY_RANK_COLUMN = taskField('priorityRank').column;

/** An UPDATE's SET list and its values: a patch, with priority_rank beside priority and updated_at always. */
export type TaskChange = { set: string; values: unknown[] };

/** What a change does to the attempts counter (see AttemptChange). */
export const ATTEMPT_SQL: Record<AttemptChange, string> = {
  start: 'attempts = attempts + 1, runs = runs + 1',
  // Never below zero, whatever an import or an older version left in the row.
  giveBack: 'attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END',
};

export function taskChange(patch: TaskPatch, now: number, attempt?: AttemptChange): TaskChange {
  const set: string[] = [];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(patch) as Array<[keyof TaskPatch, unknown]>) {
    if (value === undefined) continue;
    const field = PATCH_FIELDS.get(key)!;
    set.push(`${field.column} = ?`);
    values.push(storedValue(field, value));
    if (key === 'priority') {
      set.push(`${PRIORITY_RANK_COLUMN} = ?`);
      values.push(priorityRank(value as Priority));
    }
  }
  if (patch.status === 'pending') {
    // Back to pending: what it waits on is not known here (sql-waiting.ts); whether it is delayed (a
    // retry's backoff, sql-due.ts) is, from the run_after it has after the change.
    set.push(backToPending(patch.runAfter === undefined ? 'run_after' : TIME_PARAM, TIME_PARAM));
    if (patch.runAfter !== undefined) values.push(storedValue(PATCH_FIELDS.get('runAfter')!, patch.runAfter));
    values.push(now);
  }
  set.push('updated_at = ?');
  values.push(now);
  if (attempt) set.push(ATTEMPT_SQL[attempt]);
  return { set: set.join(', '), values };
}

/**
 * Changes the one task row matching `where` (a WHERE fragment over `tasks`, with its params, that
 * checks the state the change needs) in one atomic UPDATE and returns the row as changed, or
 * undefined when no row matched (the state was not what the change needs).
 */
export async function changeTask(q: Queryable, where: string, whereParams: readonly unknown[], change: TaskChange): Promise<TaskRow | undefined> {
  return q.get<TaskRow>(`UPDATE tasks SET ${change.set} WHERE ${where} RETURNING *`, [...change.values, ...whereParams]);
}
