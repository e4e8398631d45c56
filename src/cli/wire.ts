// The JSON the REST API speaks (snake_case keys, ISO 8601 times), as the client sees it.

export const PRIORITIES = ['high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

// The task's JSON and its claimed form, as derived from the one field declaration (core/task-fields.ts).
import type { ClaimedTaskJson, TaskJson } from '../core/task-json.js';
export type { ClaimedTaskJson, TaskJson };

export type TaskStatus = TaskJson['status'];

export type LogJson = { id: number; task_id: number | null; action: string; details: string | null; instance_id: string | null; timestamp: string };

export type InstanceJson = { id: string; name: string | null; last_seen: string | null; current_task_id: number | null; status: 'idle' | 'working' | 'offline' };

export type StatsJson = Record<TaskStatus, number> & {
  total: number;
  oldest_pending_age_seconds: number | null;
  active_instances: number;
  instances: InstanceJson[];
};

/** Answer of the state-changing task routes (heartbeat, fail, release, cancel, priority, ask). */
export type TaskChangeJson = { status: TaskStatus; task_id: number; task: TaskJson; lease_expires_at?: string | null; priority?: Priority };

export type CreatedJson = { task_id: number; status: TaskStatus; created: boolean; task: TaskJson };
export type ClaimedJson = { status: 'claimed'; task_id: number; lease_token: string; lease_expires_at: string; task: ClaimedTaskJson };
export type CompletedJson = { status: 'completed' | 'in_review'; task_id: number; next_task_id: number | null; task: TaskJson };
export type TaskPageJson = { tasks: TaskJson[]; next_cursor: string | null };

/** Who the agent is: sent on claims, and as the fence when no lease token is at hand. */
export type AgentIdentity = { instanceId: string; instanceName: string };

/** Proof of holding a task: the lease token when known, else the instance (as the original client did). */
export type Fence = { lease_token: string } | { instance_id: string };
