// One change to one task row: the UPDATE's SET list, and the one statement that applies it.
import { PRIORITY_RANK } from '../core/types.js';
import type { Queryable } from './db.js';
import type { TaskRow } from './rows.js';
import type { TaskPatch } from './store.js';

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
  result: 'result',
  error: 'error',
  question: 'question',
  answer: 'answer',
  blockedReason: 'blocked_reason',
  attempts: 'attempts',
};

export type TaskChange = { columns: string[]; values: unknown[]; incrementAttempts: boolean };

/** The columns a patch sets (with priority_rank beside priority, updated_at always), as stored values. */
export function taskChange(patch: TaskPatch, now: number, incrementAttempts = false): TaskChange {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(patch) as Array<[keyof TaskPatch, unknown]>) {
    if (value === undefined) continue;
    columns.push(PATCH_COLUMNS[key]);
    values.push(key === 'result' && value !== null ? JSON.stringify(value) : value);
    if (key === 'priority') {
      columns.push('priority_rank');
      values.push(PRIORITY_RANK[value as keyof typeof PRIORITY_RANK]);
    }
  }
  columns.push('updated_at');
  values.push(now);
  return { columns, values, incrementAttempts };
}

function setList(change: TaskChange): string {
  const set = change.columns.map((column) => `${column} = ?`);
  if (change.incrementAttempts) set.push('attempts = attempts + 1');
  return set.join(', ');
}

/**
 * Changes the one task row matching `where` (a WHERE fragment over `tasks`, with its params, that
 * checks the state the change needs) in one atomic UPDATE and returns the row as changed, or
 * undefined when no row matched (the state was not what the change needs).
 */
export async function changeTask(q: Queryable, where: string, whereParams: readonly unknown[], change: TaskChange): Promise<TaskRow | undefined> {
  return q.get<TaskRow>(`UPDATE tasks SET ${setList(change)} WHERE ${where} RETURNING *`, [...change.values, ...whereParams]);
}
