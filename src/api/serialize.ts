// Wire format of tasks, logs, instances, stats and comments: the original's snake_case keys, ISO 8601 times.
import { iso, taskJson } from '../core/task-json.js';
import type { ClaimedTask, Instance, Stats, TaskComment, TaskLog } from '../core/types.js';
import type { ClaimedTaskJson, CommentJson, InstanceJson, LogJson, StatsJson } from './responses.js';

// A task's JSON is derived from its field declaration (core/task-fields.ts).
export { iso, taskJson, type TaskJson } from '../core/task-json.js';
/** For times every stored row has (logged); events built in tests may leave them out. */
const isoAlways = (ms: number): string => iso(ms) as string;

export function claimedTaskJson(task: ClaimedTask): ClaimedTaskJson {
  return { ...taskJson(task), lease_token: task.leaseToken };
}

export function logJson(log: TaskLog): LogJson {
  return {
    id: log.id,
    task_id: log.taskId,
    action: log.action,
    details: log.details,
    instance_id: log.instanceId,
    timestamp: isoAlways(log.timestamp),
  };
}

export function instanceJson(instance: Instance): InstanceJson {
  return {
    id: instance.id,
    name: instance.name,
    last_seen: iso(instance.lastSeen),
    current_task_id: instance.currentTaskId,
    status: instance.status,
  };
}

export function statsJson(stats: Stats, now: number): StatsJson {
  return {
    ...stats.byStatus,
    total: stats.total,
    oldest_pending_age_seconds: stats.oldestPendingAt === null ? null : Math.max(0, Math.round((now - stats.oldestPendingAt) / 1000)),
    active_instances: stats.instances.filter((i) => i.status !== 'offline').length,
    instances: stats.instances.map(instanceJson),
  };
}

export function commentJson(comment: TaskComment): CommentJson {
  return {
    id: comment.id,
    task_id: comment.taskId,
    author: comment.author,
    body: comment.body,
    source: comment.source,
    created_at: isoAlways(comment.createdAt),
  };
}
