// Maps between SQL rows (snake_case, JSON text, integer ms) and domain objects.
import { EXPORTED_FIELDS, TASK_FIELDS, type FieldType, type TaskField } from '../core/task-fields.js';
import type { ExportedTask } from '../core/ports.js';
import type { Instance, Task, TaskComment, TaskLog } from '../core/types.js';

export type TaskRow = Record<string, unknown>;

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function parseJson(v: unknown, fallback: unknown): unknown {
  if (v === null || v === undefined) return fallback;
  if (typeof v !== 'string') return v;
  if (v === '[]') return []; // most tasks have no labels and no dependencies
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** How a stored value of each type becomes the domain's (a column's nullability picks the OrNull form). */
const READ: Record<FieldType, [string, string]> = {
  boolean: ['bool', 'bool'],
  integer: ['num', 'numOrNull'],
  text: ['String', 'strOrNull'],
  time: ['num', 'numOrNull'],
  timeOrNone: ['num', 'numOrNull'],
  json: ['jsonOrNull', 'jsonOrNull'],
  status: ['', ''],
  priority: ['', ''],
  labels: ['jsonList', 'jsonList'],
  ids: ['jsonList', 'jsonList'],
};

/**
 * Compiled once from the field declaration: one object literal per row, so every task has the
 * same shape (this runs for every task read, claims included).
 */
export function compileReader(fields: readonly TaskField[]): (row: TaskRow) => Record<string, unknown> {
  return new Function(
    'num',
    'numOrNull',
    'strOrNull',
    'jsonOrNull',
    'jsonList',
    'bool',
    `return (row) => ({ ${fields
      .map((f) => {
        const convert = READ[f.type][f.nullable ? 1 : 0];
        const value = `row[${JSON.stringify(f.column)}]`;
        return `${JSON.stringify(f.name)}: ${convert ? `${convert}(${value})` : value}`;
      })
      .join(', ')} });`,
  )(num, numOrNull, strOrNull, (v: unknown) => parseJson(v, null), (v: unknown) => parseJson(v, []), (v: unknown) => v !== null && v !== undefined && Number(v) !== 0);
}

const toTask = compileReader(TASK_FIELDS.filter((f) => f.inTask)) as (row: TaskRow) => Task;
const toExportedTask = compileReader(EXPORTED_FIELDS) as (row: TaskRow) => ExportedTask;

export function rowToTask(row: TaskRow): Task {
  return toTask(row);
}

/** A row as an export carries it: every declared field but the derived ones. */
export function rowToExportedTask(row: TaskRow): ExportedTask {
  return toExportedTask(row);
}

export function rowToLog(row: TaskRow): TaskLog {
  return {
    id: num(row.id),
    taskId: numOrNull(row.task_id),
    action: String(row.action),
    details: strOrNull(row.details),
    instanceId: strOrNull(row.instance_id),
    timestamp: num(row.timestamp),
  };
}

export function rowToInstance(row: TaskRow): Instance {
  return {
    id: String(row.id),
    name: strOrNull(row.name),
    lastSeen: numOrNull(row.last_seen),
    currentTaskId: numOrNull(row.current_task_id),
    // Marked offline by the liveness loop until seen again; otherwise working while it holds a task.
    status: row.status === 'offline' ? 'offline' : row.current_task_id === null || row.current_task_id === undefined ? 'idle' : 'working',
  };
}

export function rowToComment(row: TaskRow): TaskComment {
  return {
    id: num(row.id),
    taskId: num(row.task_id),
    author: String(row.author),
    body: String(row.body),
    source: String(row.source),
    discordMessageId: strOrNull(row.discord_message_id),
    createdAt: num(row.created_at),
  };
}
