// Maps between SQL rows (snake_case, JSON text, integer ms) and domain objects.
import type { Instance, Task, TaskEvent, TaskLog } from '../core/types.js';

export type TaskRow = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function parseJson(v: unknown, fallback: unknown): unknown {
  if (v === null || v === undefined) return fallback;
  if (typeof v !== 'string') return v;
  if (v === '[]') return []; // most tasks have no labels and no dependencies
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

export function rowToTask(row: TaskRow): Task {
  return {
    id: num(row.id),
    description: String(row.description),
    status: row.status as Task['status'],
    priority: row.priority as Task['priority'],
    instanceId: strOrNull(row.instance_id),
    instanceName: strOrNull(row.instance_name),
    createdAt: num(row.created_at),
    claimedAt: numOrNull(row.claimed_at),
    completedAt: numOrNull(row.completed_at),
    updatedAt: num(row.updated_at),
    notes: strOrNull(row.notes),
    submittedBy: strOrNull(row.submitted_by),
    project: strOrNull(row.project),
    labels: parseJson(row.labels, []) as string[],
    dependsOn: parseJson(row.depends_on, []) as number[],
    attempts: num(row.attempts),
    maxAttempts: num(row.max_attempts),
    runAfter: num(row.run_after),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    result: parseJson(row.result, null),
    error: strOrNull(row.error),
    question: strOrNull(row.question),
    answer: strOrNull(row.answer),
    blockedReason: strOrNull(row.blocked_reason),
    idempotencyKey: strOrNull(row.idempotency_key),
  };
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

export function rowToEvent(row: TaskRow): TaskEvent {
  return {
    id: num(row.id),
    type: String(row.action),
    taskId: numOrNull(row.task_id),
    task: parseJson(row.payload, null) as Task | null,
    instanceId: strOrNull(row.instance_id),
    details: strOrNull(row.details),
    at: num(row.timestamp),
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
