// One change to one task row: the UPDATE's SET list, and the one statement that applies it.
import { PRIORITY_RANK } from '../core/types.js';
import type { Queryable } from './db.js';
import type { TaskRow } from './rows.js';
import type { AttemptChange, TaskPatch } from '../core/ports.js';

/** Domain field -> column, for the fields a transition may set. */
const PATCH_COLUMNS: Record<keyof TaskPatch, string> = {
  status: 'status',
  priority: 'priority',
  instanceId: 'instance_id',
  instanceName: 'instance_name',
  claimedAt: 'claimed_at',
  completedAt: 'completed_at',
  notes: 'notes',
  runAfter: 'run_after',
  leaseExpiresAt: 'lease_expires_at',
  leaseToken: 'lease_token',
  leaseMs: 'lease_ms',
  result: 'result',
  error: 'error',
  question: 'question',
  answer: 'answer',
  blockedReason: 'blocked_reason',
  attempts: 'attempts',
};

/** An UPDATE's SET list and its values: a patch, with priority_rank beside priority and updated_at always. */
export type TaskChange = { set: string; values: unknown[] };

/** What a change does to the attempts counter (see AttemptChange). */
const ATTEMPT_SQL: Record<AttemptChange, string> = {
  start: 'attempts = attempts + 1',
  // Never below zero, whatever an import or an older version left in the row.
  giveBack: 'attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END',
};

export function taskChange(patch: TaskPatch, now: number, attempt?: AttemptChange): TaskChange {
  const set: string[] = [];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(patch) as Array<[keyof TaskPatch, unknown]>) {
    if (value === undefined) continue;
    set.push(`${PATCH_COLUMNS[key]} = ?`);
    values.push(key === 'result' && value !== null ? JSON.stringify(value) : value);
    if (key === 'priority') {
      set.push('priority_rank = ?');
      values.push(PRIORITY_RANK[value as keyof typeof PRIORITY_RANK]);
    }
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
