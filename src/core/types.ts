// The domain's shapes: tasks, their log, agent instances and the events transitions emit.
import type { DeclaredTask } from './task-fields.js';

export const PRIORITIES = ['high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Queue order: lower rank is served first. */
export const PRIORITY_RANK: Record<Priority, number> = { high: 0, medium: 1, low: 2 };

export const TASK_STATUSES = [
  'pending',
  'in_progress',
  'needs_input',
  'in_review',
  'completed',
  'failed',
  'cancelled',
  'blocked',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** States in which an agent holds the task under a lease. */
export const HELD_STATUSES: readonly TaskStatus[] = ['in_progress', 'needs_input'];

/**
 * A task as the domain sees it: declared field by field, with what each holds, in task-fields.ts
 * (which also derives its row mapping, columns and JSON from the same list).
 */
export type Task = DeclaredTask;

/** A task as handed to the agent that holds it: the lease token fences every later call. */
export type ClaimedTask = Task & { leaseToken: string };

export type TaskLog = {
  id: number;
  taskId: number | null;
  action: string;
  details: string | null;
  instanceId: string | null;
  timestamp: number;
};

export const INSTANCE_STATUSES = ['idle', 'working', 'offline'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export type Instance = {
  id: string;
  name: string | null;
  lastSeen: number | null;
  currentTaskId: number | null;
  status: InstanceStatus;
};

/** One row of task_logs as seen by subscribers (notifier, dashboard, long-poll waiters). */
export type TaskEvent = {
  id: number;
  type: string;
  taskId: number | null;
  task: Task | null;
  instanceId: string | null;
  details: string | null;
  at: number;
};

/** Events about the queue as a whole, with their text in `details` and no task. */
export const ANNOUNCEMENT_KINDS = ['daily_summary', 'retention_notice', 'webhook_notice'] as const;
export type AnnouncementKind = (typeof ANNOUNCEMENT_KINDS)[number];

export type Stats = {
  byStatus: Record<TaskStatus, number>;
  total: number;
  oldestPendingAt: number | null;
  instances: Instance[];
};

export type NewTask = {
  description: string;
  priority: Priority;
  submittedBy: string | null;
  notes: string | null;
  project: string | null;
  labels: string[];
  dependsOn: number[];
  runAfter: number;
  maxAttempts: number;
  idempotencyKey: string | null;
  assignee?: string | null;
  /** The Discord user who queued it with /task, recorded in the create's transaction. */
  discordUserId?: string | null;
  /** Completing it moves it to in_review (absent: no review). */
  review?: boolean;
  /** The schedule creating it (absent: none). */
  scheduleId?: number | null;
};

export type TaskFilter = {
  status?: TaskStatus[];
  priority?: Priority;
  instanceId?: string;
  label?: string;
  project?: string;
  assignee?: string;
  search?: string;
  order?: 'newest' | 'queue';
  limit?: number;
  /** Opaque position from a previous page. */
  cursor?: string;
};

export type TaskPage = { tasks: Task[]; nextCursor: string | null };

/** Who holds an API key: admins manage, agents work tasks as one identity, readers only read. */
export const KEY_ROLES = ['admin', 'agent', 'reader', 'reviewer'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

export type ApiKeyRecord = {
  id: number;
  name: string;
  role: KeyRole;
  /** The agent identity an `agent` key acts as; null for admin and reader keys. */
  instanceId: string | null;
  /** The first characters of the key, to tell keys apart in lists. */
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
};

/** A message on a task, from a person (dashboard, Discord, CLI) or an agent. */
export type TaskComment = {
  id: number;
  taskId: number;
  author: string;
  body: string;
  /** Where it was written: api, dashboard, discord, cli, mcp, agent. */
  source: string;
  discordMessageId: string | null;
  createdAt: number;
};

/** One changed field of an edit, as logged and answered: its old and new value. */
export type FieldChange = { field: string; old: unknown; new: unknown };
