// How an event's task is kept in task_logs.payload, and read back. An event stores what the task's
// lifecycle changes (TaskField.inEvent: status, holder, times, outcome), nulls left out; what was asked
// for (description, labels, priority, …) is read from the task's row when the event is read back, so
// a log row holds about a quarter of the task. Rows written before, and the event of a deleted task
// (its row is gone), hold the whole task.
import { TASK_FIELDS, type TaskField } from '../core/task-fields.js';
import type { Task, TaskEvent } from '../core/types.js';
import { compileReader, num, numOrNull, parseJson, strOrNull, type TaskRow } from './rows.js';

const IN_TASK = TASK_FIELDS.filter((f) => f.inTask);
const IN_EVENT: readonly TaskField[] = IN_TASK.filter((f) => f.inEvent);
const FROM_ROW: readonly TaskField[] = IN_TASK.filter((f) => !f.inEvent && f.name !== 'id');
const readFromRow = compileReader(FROM_ROW);

/** The payload of an event about `task`: what its lifecycle changes, or all of it (`whole`: its row is going away). */
export function eventPayload(task: Task, whole = false): string {
  if (whole) return JSON.stringify(task);
  const kept: Record<string, unknown> = {};
  for (const f of IN_EVENT) {
    const value = (task as Record<string, unknown>)[f.name];
    if (value !== null) kept[f.name] = value;
  }
  return JSON.stringify(kept);
}

/** Reads events (alias l) with the columns of their task's row (alias t) that the payload leaves out. */
export const EVENT_SELECT = `SELECT l.*, ${FROM_ROW.map((f) => `t.${f.column}`).join(', ')} FROM task_logs l LEFT JOIN tasks t ON t.id = l.task_id`;

/** The task of an event read with EVENT_SELECT: its payload over its row; null when it has none (or its row is gone). */
function eventTask(row: TaskRow): Task | null {
  const payload = parseJson(row.payload, null) as Record<string, unknown> | null;
  if (payload === null || typeof payload !== 'object') return null;
  if ('description' in payload) return payload as Task;
  if (row.description === null || row.description === undefined) return null;
  const fromRow = readFromRow(row);
  const task: Record<string, unknown> = {};
  for (const f of IN_TASK) task[f.name] = f.name === 'id' ? num(row.task_id) : f.inEvent ? (payload[f.name] ?? null) : fromRow[f.name];
  return task as Task;
}

export function rowToEvent(row: TaskRow): TaskEvent {
  return {
    id: num(row.id),
    type: String(row.action),
    taskId: numOrNull(row.task_id),
    task: eventTask(row),
    instanceId: strOrNull(row.instance_id),
    details: strOrNull(row.details),
    at: num(row.timestamp),
  };
}
