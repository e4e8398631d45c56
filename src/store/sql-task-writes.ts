// Writes shared by transitions and bulk actions: the log row (event), instance bookkeeping, dependency cascades.
import type { Task, TaskEvent } from '../core/types.js';
import { placeholders, Unanswered, type Dialect, type Queryable } from './db.js';
import { dependsOnAny, someDependency } from './sql-lists.js';
import { rowToTask, type TaskRow } from './rows.js';
import type { LogEntry } from '../core/ports.js';
import { webhookEventFor } from '../core/webhooks.js';
import { stampOf } from './change-stamps.js';
import { queueWantedDeliveries, type WebhooksInForce } from './sql-webhooks.js';
import { eventPayload } from './event-payload.js';
import { WAITING } from './sql-waiting.js';
import { NOT_DELAYED } from './sql-due.js';

/**
 * One log row: a task's through appendTaskLogs (with the webhook deliveries it announces), or a
 * queue-wide one (task null: purged, imported, …), which no webhook announces.
 */
export async function appendLog(q: Queryable, taskId: number | null, entry: LogEntry, now: number, task: Task | null): Promise<TaskEvent> {
  if (task) return (await appendTaskLogs(q, [{ task, entry, now }]))[0]!;
  const details = entry.details ?? null;
  const instanceId = entry.instanceId ?? null;
  const id = await q.insert(
    'INSERT INTO task_logs (task_id, action, details, instance_id, timestamp, payload) VALUES (?, ?, ?, ?, ?, ?)',
    [taskId, entry.action, details, instanceId, now, null],
  );
  return { id, type: entry.action, taskId, task: null, instanceId, details, at: now };
}

type LogRow = { task: Task; entry: LogEntry; now: number };

/** The log rows of several tasks (each named once), as VALUES of one INSERT. */
function logValues(entries: readonly LogRow[]): { sql: string; params: unknown[] } {
  return {
    sql: `INSERT INTO task_logs (task_id, action, details, instance_id, timestamp, payload) VALUES ${entries.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
    params: entries.flatMap(({ task, entry, now }) => [task.id, entry.action, entry.details ?? null, entry.instanceId ?? null, now, eventPayload(task, entry.action === 'deleted')]),
  };
}

/** The events of `entries`, in their order, from the ids their INSERT returned. */
function logEvents(entries: readonly LogRow[], rows: ReadonlyArray<{ id: number; task_id: number }>): TaskEvent[] {
  const ids = new Map(rows.map((row) => [Number(row.task_id), Number(row.id)]));
  return entries.map(({ task, entry, now }) => ({
    id: ids.get(task.id)!, type: entry.action, taskId: task.id, task, instanceId: entry.instanceId ?? null, details: entry.details ?? null, at: now,
  }));
}

/**
 * The log rows of several tasks (each named once) in one statement, with their webhook deliveries
 * as appendLog queues them; the events come back in the order of `entries`. `inForce` learns the
 * webhooks in force (for sendTaskLogs).
 */
export async function appendTaskLogs(q: Queryable, entries: readonly LogRow[], inForce?: WebhooksInForce): Promise<TaskEvent[]> {
  const insert = logValues(entries);
  const rows = await q.all<{ id: number; task_id: number; webhooks_stamp: number }>(
    `${insert.sql} RETURNING id, task_id, ${stampOf('webhooks')} AS webhooks_stamp`,
    insert.params,
  );
  const stamps = new Map(rows.map((row) => [Number(row.task_id), Number(row.webhooks_stamp)]));
  for (const { task, entry, now } of entries) {
    const webhookEvent = webhookEventFor(entry.action);
    if (webhookEvent) await queueWantedDeliveries(q, stamps.get(task.id)!, webhookEvent, task, now, inForce);
  }
  return logEvents(entries, rows);
}

/**
 * appendTaskLogs without waiting: the rows leave in one statement now and the events come with its
 * answer, so the transaction's COMMIT can travel right behind it (one round trip fewer). Only where
 * the backend guards a stamp inside a statement (Dialect.stampGuard) and `inForce` knows webhooks
 * under which no delivery of these events is due: the statement fails should they have changed
 * since, `inForce` forgets them, and the transaction runs again. Otherwise null: appendTaskLogs,
 * which waits for the stamp and queues the deliveries due.
 */
export function sendTaskLogs(q: Queryable, dialect: Dialect, inForce: WebhooksInForce, entries: readonly LogRow[]): Promise<TaskEvent[]> | null {
  if (!dialect.stampGuard) return null;
  const stamp = inForce.quietFor(entries.map(({ task, entry }) => ({ event: webhookEventFor(entry.action), task })));
  if (stamp === null) return null;
  const insert = logValues(entries);
  const sent = q.all<{ id: number; task_id: number }>(`${insert.sql} RETURNING id, task_id, ${dialect.stampGuard('webhooks')} AS webhooks_held`, [
    ...insert.params,
    stamp,
  ]);
  return sent.then(
    (rows) => logEvents(entries, rows),
    (err: unknown) => {
      inForce.forget();
      throw err;
    },
  );
}

/**
 * The log rows of `entries`, then `more` (statements whose answers nothing waits for, such as
 * last-seen), then `result` of the events: all sent without waiting where sendTaskLogs can, the
 * result then Unanswered (the transaction's COMMIT follows them at once), else as appendTaskLogs.
 */
export async function logThen<R>(
  q: Queryable, dialect: Dialect, inForce: WebhooksInForce, entries: readonly LogRow[], more: () => Promise<unknown>, result: (events: TaskEvent[]) => R,
): Promise<R | Unanswered<R>> {
  const sending = sendTaskLogs(q, dialect, inForce, entries);
  if (sending) {
    const rest = more();
    return new Unanswered(Promise.all([sending, rest]).then(([events]) => result(events)));
  }
  const events = await appendTaskLogs(q, entries, inForce);
  await more();
  return result(events);
}

/** An agent seen at a time: id, name (null: keep the one known), when. */
export type Seen = readonly [id: string, name: string | null, now: number];

/** Records agents as seen in the running transaction, where due (SqlStore's last-seen throttle decides). */
export type MarkSeen = (...agents: Seen[]) => Promise<void>;

/**
 * Records that agents were seen now (and their names), bringing back any marked offline, in one
 * statement (rows in id order, so two such writes never wait for each other crosswise). What an
 * agent holds, and so whether it is working, is read from tasks (listInstances), never stored.
 */
export async function recordSeen(q: Queryable, seen: readonly Seen[]): Promise<void> {
  if (seen.length === 0) return;
  const rows = seen.length === 1 ? seen : [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  await q.run(
    `INSERT INTO instances (id, name, last_seen, status) VALUES ${rows.map(() => "(?, ?, ?, 'idle')").join(', ')}
     ON CONFLICT (id) DO UPDATE SET name = COALESCE(excluded.name, instances.name), last_seen = excluded.last_seen, status = 'idle'`,
    rows.flat(),
  );
}

/** A dependency (alias p) that ended without completing, or is itself blocked. */
export const ENDED = (p: string): string => `${p}.status IN ('failed', 'cancelled', 'blocked')`;

/** Blocks a pending task (id) whose dependencies (dependsOn: what its row holds now) include one that ended without completing. */
export async function blockIfDependencyEnded(q: Queryable, id: number, dependsOn: readonly number[], now: number): Promise<{ task: Task; event: TaskEvent } | null> {
  if (dependsOn.length === 0) return null;
  const dead = await q.get<{ id: number; status: string }>(
    `SELECT id, status FROM tasks WHERE id IN (${placeholders(dependsOn.length)}) AND ${ENDED('tasks')} ORDER BY id LIMIT 1`,
    [...dependsOn],
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
export async function blockDependants(q: Queryable, dialect: Dialect, rootId: number, now: number, why?: string): Promise<TaskEvent[]> {
  const root = why ? undefined : await q.get<{ status: string }>('SELECT status FROM tasks WHERE id = ?', [rootId]);
  const reason = why ?? `dependency #${rootId} is ${root?.status ?? 'gone'}`;
  const events: TaskEvent[] = [];
  let frontier = [rootId];
  while (frontier.length > 0) {
    const rows = await q.all<TaskRow>(
      `UPDATE tasks SET status = 'blocked', blocked_reason = ?, updated_at = ?
       WHERE status = 'pending' AND ${dependsOnAny(dialect, 'tasks', frontier.length)}
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
export async function unblockDependants(q: Queryable, dialect: Dialect, rootId: number, now: number): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  let frontier = [rootId];
  while (frontier.length > 0) {
    const rows = await q.all<TaskRow>(
      `UPDATE tasks SET status = 'pending', blocked_reason = NULL, updated_at = ?, ${WAITING}, ${NOT_DELAYED}
       WHERE status = 'blocked' AND ${dependsOnAny(dialect, 'tasks', frontier.length)}
         AND NOT ${someDependency(dialect, 'tasks', ENDED)}
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
