// Edits by people: change a task's fields, delete it, comment on it. Every check runs in the write's
// transaction, after the locks that order it against claims, cancels and other edits.
import { HELD_STATUSES, PRIORITY_RANK, type FieldChange, type Task, type TaskComment, type TaskEvent, type TaskStatus } from '../core/types.js';
import { placeholders, type Dialect, type Queryable } from './db.js';
import { rowToComment, rowToTask, type TaskRow } from './rows.js';
import { lockGraph, dependencyClosure } from './sql-dependencies.js';
import { ENDED, appendLog, blockDependants, blockIfDependencyEnded } from './sql-task-writes.js';
import { dependenciesWritten } from './sql-waiting.js';
import { NOT_DELAYED, TIME_PARAM, timeMark } from './sql-due.js';
import { dependsOnAny, someDependency } from './sql-lists.js';
import type { CommentOutcome, DeleteOutcome, DeleteSpec, EditOutcome, HolderNotice, NewComment, TaskEditFields, TaskEditSpec } from '../core/ports.js';

/** States a task does not leave on its own: not edited; not counted as waiting dependants. */
const FINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

/** Edited field -> column; labels and dependencies are JSON arrays in their columns (sql-lists.ts). */
const EDIT_COLUMNS: Record<keyof TaskEditFields, string> = {
  description: 'description',
  priority: 'priority',
  notes: 'notes',
  project: 'project',
  labels: 'labels',
  dependsOn: 'depends_on',
  maxAttempts: 'max_attempts',
  runAfter: 'run_after',
  assignee: 'assignee',
};

/** The wire names changes are told by (the API's snake_case) are the column names. */
const WIRE_NAMES = EDIT_COLUMNS;

const sameSet = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

function same(field: keyof TaskEditFields, before: unknown, after: unknown): boolean {
  if (field === 'labels' || field === 'dependsOn') return sameSet(before as unknown[], after as unknown[]);
  return (before ?? null) === (after ?? null);
}

const shown = (value: unknown): string => {
  if (value === null || value === undefined) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ');
  const text = String(value);
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}...` : text);
};

/** The log line of an edit: who, then each field old -> new. */
export function describeChanges(changes: FieldChange[], by: string | null): string {
  const parts = changes.map((c) => `${c.field}: ${shown(c.old)} -> ${shown(c.new)}`);
  return `${by ? `by ${by}: ` : ''}${parts.join('; ')}`;
}

const HELD_ONLY_BEFORE_START = new Set<keyof TaskEditFields>(['dependsOn']);

export async function editTask(q: Queryable, dialect: Dialect, spec: TaskEditSpec): Promise<EditOutcome> {
  const { taskId, fields, now } = spec;
  // Dependencies are checked under the graph lock (sql-dependencies.ts); other edits lock the row only.
  const newDeps = fields.dependsOn ?? [];
  const found = fields.dependsOn ? await lockGraph(q, dialect, [taskId, ...newDeps]) : null;
  const row = await q.get<TaskRow>(`SELECT * FROM tasks WHERE id = ? ${found ? '' : dialect.rowLock}`, [taskId]);
  if (!row) return { ok: false, reason: 'not_found' };
  const current = rowToTask(row);
  if (FINAL_STATUSES.includes(current.status)) return { ok: false, reason: 'not_editable', current };

  const changes: FieldChange[] = [];
  const set: string[] = [];
  const values: unknown[] = [];
  for (const [field, value] of Object.entries(fields) as Array<[keyof TaskEditFields, unknown]>) {
    if (value === undefined || same(field, current[field], value)) continue;
    if (HELD_ONLY_BEFORE_START.has(field) && HELD_STATUSES.includes(current.status)) {
      return { ok: false, reason: 'not_editable', current, field: WIRE_NAMES[field] };
    }
    changes.push({ field: WIRE_NAMES[field], old: current[field], new: value });
    set.push(`${EDIT_COLUMNS[field]} = ?`);
    values.push(field === 'labels' || field === 'dependsOn' ? JSON.stringify(value) : value);
    if (field === 'priority') {
      set.push('priority_rank = ?');
      values.push(PRIORITY_RANK[value as Task['priority']]);
    }
    // A pending task delayed, or due now, by the edit (sql-due.ts); the mark of a task not pending is written when it returns.
    if (field === 'runAfter') {
      set.push(timeMark(`CASE WHEN status = 'pending' THEN ${TIME_PARAM} ELSE 0 END`, TIME_PARAM));
      values.push(value, now);
    }
  }
  if (changes.length === 0) return { ok: true, task: current, changes, events: [] };

  if (fields.dependsOn && changes.some((c) => c.field === 'depends_on')) {
    const missing = newDeps.filter((id) => !found!.has(id));
    if (missing.length > 0) return { ok: false, reason: 'unknown_dependency', missing };
    if (newDeps.includes(taskId) || (newDeps.length > 0 && (await dependencyClosure(q, dialect, newDeps)).has(taskId))) return { ok: false, reason: 'cycle' };
  }
  // A holder is told of a new description at its next heartbeat.
  if (HELD_STATUSES.includes(current.status) && changes.some((c) => c.field === 'description')) set.push('description_unseen = 1');
  set.push('updated_at = ?');
  values.push(now);
  const changed = await q.get<TaskRow>(
    `UPDATE tasks SET ${set.join(', ')} WHERE id = ? AND status NOT IN (${placeholders(FINAL_STATUSES.length)}) RETURNING *`,
    [...values, taskId, ...FINAL_STATUSES],
  );
  if (!changed) return { ok: false, reason: 'not_editable', current };
  let task = rowToTask(changed);
  const events = [await appendLog(q, taskId, { action: 'edited', details: describeChanges(changes, spec.by) }, now, task)];
  if (fields.dependsOn && changes.some((c) => c.field === 'depends_on')) {
    await dependenciesWritten(q, dialect, taskId, newDeps);
    const settled = task.status === 'blocked' ? await unblockIfFree(q, dialect, taskId, now) : await blockIfDependencyEnded(q, taskId, newDeps, now);
    if (settled) {
      task = settled.task;
      events.push(settled.event);
    }
  }
  return { ok: true, task, changes, events };
}

/** A blocked task whose dependencies no longer include an ended one is pending again. */
async function unblockIfFree(q: Queryable, dialect: Dialect, id: number, now: number): Promise<{ task: Task; event: TaskEvent } | null> {
  const row = await q.get<TaskRow>(
    `UPDATE tasks SET status = 'pending', blocked_reason = NULL, updated_at = ?, ${NOT_DELAYED}
     WHERE id = ? AND status = 'blocked'
       AND NOT ${someDependency(dialect, 'tasks', ENDED)}
     RETURNING *`,
    [now, id],
  );
  if (!row) return null;
  const task = rowToTask(row);
  return { task, event: await appendLog(q, id, { action: 'unblocked', details: 'dependencies edited' }, now, task) };
}

export async function deleteTask(q: Queryable, dialect: Dialect, spec: DeleteSpec): Promise<DeleteOutcome> {
  // Deleting writes the dependency graph, as a purge does (see sql-dependencies.ts).
  await lockGraph(q, dialect, [spec.taskId]);
  const row = await q.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [spec.taskId]);
  if (!row) return { ok: false, reason: 'not_found' };
  const task = rowToTask(row);
  if (HELD_STATUSES.includes(task.status) && !spec.force) return { ok: false, reason: 'held', current: task };
  const dependants = (
    await q.all<{ id: number }>(
      `SELECT c.id FROM tasks c WHERE ${dependsOnAny(dialect, 'c', 1)} AND c.status NOT IN (${placeholders(FINAL_STATUSES.length)}) ORDER BY c.id`,
      [spec.taskId, ...FINAL_STATUSES],
    )
  ).map((r) => Number(r.id));
  if (dependants.length > 0 && !spec.force) return { ok: false, reason: 'has_dependants', dependants };

  const events: TaskEvent[] = [];
  // Its dependants can no longer start: blocked, saying why. They keep its id in depends_on (what they
  // waited on); a dependency that no longer exists is met by nothing (sql-lists.ts).
  if (dependants.length > 0) events.push(...(await blockDependants(q, dialect, spec.taskId, spec.now, `dependency #${spec.taskId} was deleted`)));
  await q.run('DELETE FROM task_logs WHERE task_id = ?', [spec.taskId]);
  // The lease token goes with the row: the holder's next call is refused (404), so it stops.
  await q.run('DELETE FROM tasks WHERE id = ?', [spec.taskId]);
  const how = HELD_STATUSES.includes(task.status) ? `; taken from ${task.instanceName ?? task.instanceId}` : '';
  events.push(await appendLog(q, spec.taskId, { action: 'deleted', details: `${spec.by ? `by ${spec.by}` : 'deleted'}${how}` }, spec.now, task));
  return { ok: true, task, events };
}

/** The event text of a comment: JSON, so the notifier knows where it came from (a thread's own is not echoed). */
export const commentDetails = (c: TaskComment) => JSON.stringify({ id: c.id, author: c.author, source: c.source, body: c.body });

export async function addComment(q: Queryable, dialect: Dialect, input: NewComment): Promise<CommentOutcome> {
  const row = await q.get<TaskRow>(`SELECT * FROM tasks WHERE id = ? ${dialect.rowLock}`, [input.taskId]);
  if (!row) return { ok: false, reason: 'not_found' };
  if (input.discordMessageId) {
    const kept = await q.get<TaskRow>('SELECT * FROM task_comments WHERE discord_message_id = ?', [input.discordMessageId]);
    if (kept) return { ok: true, comment: rowToComment(kept), created: false, events: [] };
  }
  const inserted = await q.get<TaskRow>(
    'INSERT INTO task_comments (task_id, author, body, source, discord_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
    [input.taskId, input.author, input.body, input.source, input.discordMessageId, input.now],
  );
  const comment = rowToComment(inserted!);
  let task = rowToTask(row);
  // The holder is told at its next heartbeat, unless it wrote the comment itself.
  if (HELD_STATUSES.includes(task.status) && !(input.source === 'agent' && input.author === task.instanceId)) {
    const changed = await q.get<TaskRow>(
      'UPDATE tasks SET comments_unseen_from = COALESCE(comments_unseen_from, ?) WHERE id = ? RETURNING *',
      [comment.id, input.taskId],
    );
    task = rowToTask(changed!);
  }
  const event = await appendLog(q, input.taskId, { action: 'commented', details: commentDetails(comment) }, input.now, task);
  return { ok: true, comment, created: true, events: [event] };
}

export async function commentsOn(q: Queryable, taskId: number, fromId = 0): Promise<TaskComment[]> {
  const rows = await q.all<TaskRow>('SELECT * FROM task_comments WHERE task_id = ? AND id >= ? ORDER BY id', [taskId, fromId]);
  return rows.map(rowToComment);
}

export async function takeHolderNotice(q: Queryable, task: Task): Promise<HolderNotice> {
  const comments = task.commentsUnseenFrom === null ? [] : await commentsOn(q, task.id, task.commentsUnseenFrom);
  // Marked seen only if nothing new arrived since `task` was read; otherwise the next heartbeat tells it all.
  await q.run(
    'UPDATE tasks SET description_unseen = 0, comments_unseen_from = NULL WHERE id = ? AND description_unseen = ? AND COALESCE(comments_unseen_from, 0) = ?',
    [task.id, task.descriptionUnseen ? 1 : 0, task.commentsUnseenFrom ?? 0],
  );
  return { descriptionChanged: task.descriptionUnseen !== 0, comments };
}
