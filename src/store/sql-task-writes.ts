// Writes shared by transitions and bulk actions: the log row (event), instance bookkeeping, dependency cascades.
import { HELD_STATUSES, type Task, type TaskEvent } from '../core/types.js';
import { placeholders, type Queryable } from './db.js';
import { rowToTask, type TaskRow } from './rows.js';
import type { LogEntry } from './store.js';

export const HELD_SQL = HELD_STATUSES.map((s) => `'${s}'`).join(', ');

export async function appendLog(q: Queryable, taskId: number | null, entry: LogEntry, now: number, task: Task | null): Promise<TaskEvent> {
  const details = entry.details ?? null;
  const instanceId = entry.instanceId ?? null;
  const id = await q.insert(
    'INSERT INTO task_logs (task_id, action, details, instance_id, timestamp, payload) VALUES (?, ?, ?, ?, ?, ?)',
    [taskId, entry.action, details, instanceId, now, task ? JSON.stringify(task) : null],
  );
  return { id, type: entry.action, taskId, task, instanceId, details, at: now };
}

/** Recomputes an instance's row from the tasks it holds; `seen` also records it as alive now. */
export async function refreshInstance(q: Queryable, id: string, name: string | null | undefined, seen: boolean, now: number): Promise<void> {
  // One upsert: what the instance holds is recomputed from its tasks; an offline instance stays
  // offline unless it was seen now (a sweep acting on its tasks does not bring it back).
  await q.run(
    `INSERT INTO instances (id, name, last_seen, current_task_id, status)
     VALUES (?, ?, ?,
             (SELECT MAX(t.id) FROM tasks t WHERE t.instance_id = ? AND t.status IN (${HELD_SQL})),
             CASE WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = ? AND t.status IN (${HELD_SQL})) THEN 'working' ELSE 'idle' END)
     ON CONFLICT (id) DO UPDATE SET
       name = COALESCE(excluded.name, instances.name),
       last_seen = COALESCE(excluded.last_seen, instances.last_seen),
       current_task_id = excluded.current_task_id,
       status = CASE WHEN excluded.status = 'working' THEN 'working'
                     WHEN instances.status = 'offline' AND excluded.last_seen IS NULL THEN 'offline' ELSE 'idle' END`,
    [id, name ?? null, seen ? now : null, id, id],
  );
}

export async function blockIfDependencyEnded(q: Queryable, id: number, now: number): Promise<{ task: Task; event: TaskEvent } | null> {
  const dead = await q.get<{ id: number; status: string }>(
    `SELECT p.id, p.status FROM task_deps d JOIN tasks p ON p.id = d.depends_on
     WHERE d.task_id = ? AND p.status IN ('failed', 'cancelled', 'blocked') ORDER BY p.id LIMIT 1`,
    [id],
  );
  if (!dead) return null;
  const reason = `dependency #${dead.id} is ${dead.status}`;
  const row = await q.get<TaskRow>(
    `UPDATE tasks SET status = 'blocked', blocked_reason = ?, updated_at = ? WHERE id = ? AND status = 'pending' RETURNING *`,
    [reason, now, id],
  );
  if (!row) return null;
  const task = rowToTask(row);
  return { task, event: await appendLog(q, id, { action: 'blocked', details: reason }, now, task) };
}

/** Marks pending dependants (transitively) blocked after a task failed or was cancelled. */
export async function blockDependants(q: Queryable, rootId: number, now: number): Promise<TaskEvent[]> {
  const root = await q.get<{ status: string }>('SELECT status FROM tasks WHERE id = ?', [rootId]);
  const reason = `dependency #${rootId} is ${root?.status ?? 'gone'}`;
  const events: TaskEvent[] = [];
  let frontier = [rootId];
  while (frontier.length > 0) {
    const rows = await q.all<TaskRow>(
      `UPDATE tasks SET status = 'blocked', blocked_reason = ?, updated_at = ?
       WHERE status = 'pending' AND id IN (SELECT task_id FROM task_deps WHERE depends_on IN (${placeholders(frontier.length)}))
       RETURNING *`,
      [reason, now, ...frontier],
    );
    frontier = [];
    for (const row of rows) {
      const task = rowToTask(row);
      events.push(await appendLog(q, task.id, { action: 'blocked', details: reason }, now, task));
      frontier.push(task.id);
    }
  }
  return events;
}

/** After a retry, puts blocked dependants back to pending when nothing else blocks them. */
export async function unblockDependants(q: Queryable, rootId: number, now: number): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  let frontier = [rootId];
  while (frontier.length > 0) {
    const rows = await q.all<TaskRow>(
      `UPDATE tasks SET status = 'pending', blocked_reason = NULL, updated_at = ?
       WHERE status = 'blocked' AND id IN (SELECT task_id FROM task_deps WHERE depends_on IN (${placeholders(frontier.length)}))
         AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks p ON p.id = d.depends_on
                         WHERE d.task_id = tasks.id AND p.status IN ('failed', 'cancelled', 'blocked'))
       RETURNING *`,
      [now, ...frontier],
    );
    frontier = [];
    for (const row of rows) {
      const task = rowToTask(row);
      events.push(await appendLog(q, task.id, { action: 'unblocked', details: `dependency #${rootId} retried` }, now, task));
      frontier.push(task.id);
    }
  }
  return events;
}
