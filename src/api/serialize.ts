// Wire format of tasks, logs, instances and stats: the original's snake_case keys, ISO 8601 times.
import type { ClaimedTask, Instance, Stats, Task, TaskLog } from '../core/types.js';

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function taskJson(task: Task) {
  return {
    id: task.id,
    description: task.description,
    status: task.status,
    priority: task.priority,
    instance_id: task.instanceId,
    instance_name: task.instanceName,
    created_at: iso(task.createdAt),
    claimed_at: iso(task.claimedAt),
    completed_at: iso(task.completedAt),
    updated_at: iso(task.updatedAt),
    notes: task.notes,
    submitted_by: task.submittedBy,
    project: task.project,
    labels: task.labels,
    depends_on: task.dependsOn,
    attempts: task.attempts,
    max_attempts: task.maxAttempts,
    run_after: task.runAfter > 0 ? iso(task.runAfter) : null,
    lease_expires_at: iso(task.leaseExpiresAt),
    result: task.result ?? null,
    error: task.error,
    question: task.question,
    answer: task.answer,
    blocked_reason: task.blockedReason,
  };
}

export type TaskJson = ReturnType<typeof taskJson>;

export function claimedTaskJson(task: ClaimedTask) {
  return { ...taskJson(task), lease_token: task.leaseToken };
}

export function logJson(log: TaskLog) {
  return {
    id: log.id,
    task_id: log.taskId,
    action: log.action,
    details: log.details,
    instance_id: log.instanceId,
    timestamp: iso(log.timestamp),
  };
}

export function instanceJson(instance: Instance) {
  return {
    id: instance.id,
    name: instance.name,
    last_seen: iso(instance.lastSeen),
    current_task_id: instance.currentTaskId,
    status: instance.status,
  };
}

export function statsJson(stats: Stats, now: number) {
  return {
    ...stats.byStatus,
    total: stats.total,
    oldest_pending_age_seconds: stats.oldestPendingAt === null ? null : Math.max(0, Math.round((now - stats.oldestPendingAt) / 1000)),
    active_instances: stats.instances.filter((i) => i.status !== 'offline').length,
    instances: stats.instances.map(instanceJson),
  };
}
