// One change to one task row: the UPDATE's SET list, and the same change applied in memory to the
// row as read before it (how SQLite avoids RETURNING, see Dialect.taskWrites).
import { PRIORITY_RANK } from '../core/types.js';
import type { Dialect, Queryable } from './db.js';
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

function applied(row: TaskRow, change: TaskChange): TaskRow {
  const next: TaskRow = { ...row };
  change.columns.forEach((column, i) => {
    next[column] = change.values[i];
  });
  if (change.incrementAttempts) next.attempts = Number(row.attempts) + 1;
  return next;
}

export type ChangedTask = {
  /** The row before the change; null where the dialect writes with RETURNING (it never reads first). */
  before: TaskRow | null;
  after: TaskRow;
};

/**
 * Changes the one task row matching `where` (a WHERE fragment over `tasks`, with its params) and
 * returns it as changed, or undefined when no row matched. With 'read-then-write' the row is read
 * with the same WHERE, then updated by id: inside the write transaction nothing else can change it
 * in between, and the result is the read row with the change applied.
 */
export async function changeTask(
  q: Queryable,
  dialect: Dialect,
  where: string,
  whereParams: readonly unknown[],
  change: TaskChange,
): Promise<ChangedTask | undefined> {
  if (dialect.taskWrites === 'returning') {
    const after = await q.get<TaskRow>(`UPDATE tasks SET ${setList(change)} WHERE ${where} RETURNING *`, [...change.values, ...whereParams]);
    return after ? { before: null, after } : undefined;
  }
  const before = await q.get<TaskRow>(`SELECT * FROM tasks WHERE ${where}`, whereParams);
  if (!before) return undefined;
  const changed = await q.run(`UPDATE tasks SET ${setList(change)} WHERE id = ? AND status = ?`, [...change.values, before.id, before.status]);
  // Cannot happen inside the write transaction; if it ever did, fail loudly rather than report a change that was not made.
  if (changed !== 1) throw new Error(`task #${String(before.id)} changed between read and write`);
  return { before, after: applied(before, change) };
}
