// The JSON the REST API speaks, as the client sees it: inferred from the zod schemas the server answers and validates with.
import type { z } from 'zod';
import type { bulkFilter, createTaskBody, editBody, listQuery } from '../api/schemas.js';
import type { PRIORITIES, TASK_STATUSES } from '../core/types.js';

export type {
  ClaimedJson,
  ClaimedTaskJson,
  CommentJson,
  CompletedJson,
  CreatedJson,
  DeletedJson,
  EditedJson,
  ErrorJson,
  FailedJson,
  HeartbeatJson,
  InstanceJson,
  LogJson,
  OutputAppendedJson,
  PriorityChangeJson,
  RequeuedHeldJson,
  StatsJson,
  TaskChangeJson,
  TaskJson,
  TaskPageJson,
} from '../api/responses.js';

export type Priority = (typeof PRIORITIES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A new task, as POST /api/tasks takes it. */
export type NewTaskJson = z.output<typeof createTaskBody>;

/** PATCH /api/tasks/:id: the fields to change (null clears). */
export type TaskEditJson = z.input<typeof editBody>;

/** Which tasks a bulk action (retry-failed, cancel-pending) touches. */
export type BulkFilterJson = z.input<typeof bulkFilter>;

/** Filters of GET /api/tasks, as query strings: `status` is comma-separated states or "all", `priority` any case. */
export type ListQuery = Omit<z.output<typeof listQuery>, 'status' | 'priority'> & { status?: string; priority?: string };

/** Who the agent is: sent on claims, and as the fence when no lease token is at hand. */
export type AgentIdentity = { instanceId: string; instanceName: string };

/** Proof of holding a task: the lease token when known, else the instance (as the original client did). */
export type Fence = { lease_token: string } | { instance_id: string };

/** A pause, as GET /api/queue/pauses lists it. */
export type PauseJson = { scope: string; paused_by: string | null; reason: string | null; paused_at: string };
/** A concurrency limit with the tasks its scope holds now, as GET /api/limits lists it. */
export type LimitJson = { scope: string; max: number; held: number; set_by: string | null; updated_at: string };

/** A schedule (a task created on a cron expression), as /api/schedules answers it. */
export type ScheduleJson = {
  id: number;
  cron: string;
  time_zone: string;
  description: string;
  priority: Priority;
  notes: string | null;
  project: string | null;
  labels: string[];
  max_attempts: number | null;
  assignee: string | null;
  review: boolean | null;
  until: string | null;
  missed: 'skip' | 'once';
  overlap: boolean;
  paused: boolean;
  next_run_at: string | null;
  next_runs: string[];
  last_run_at: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
};
/** One handled occurrence of a schedule. */
export type ScheduleRunJson = { id: number; run_at: string; outcome: 'created' | 'open' | 'missed' | 'manual'; task_id: number | null; covers: number; created_at: string };
/** What POST /api/schedules takes (and PATCH, every field optional). */
export type NewScheduleJson = {
  cron: string;
  description: string;
  time_zone?: string;
  priority?: Priority;
  notes?: string | null;
  project?: string | null;
  labels?: string[];
  max_attempts?: number | null;
  assignee?: string | null;
  review?: boolean | null;
  until?: string | number | null;
  missed?: 'skip' | 'once';
  overlap?: boolean;
  paused?: boolean;
};
/** What a webhook may subscribe to. */
export type WebhookEventName = 'task.created' | 'task.claimed' | 'task.completed' | 'task.failed' | 'task.needs_input' | 'task.in_review';
/** A webhook, as GET /api/webhooks lists it (never its secret). */
export type WebhookJson = {
  id: number;
  url: string;
  events: Array<WebhookEventName | '*'>;
  label: string | null;
  project: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  created_by: string | null;
  created_at: string;
};
/** One attempt to deliver, with the receiver's answer. */
export type WebhookAttemptJson = { at: string; duration_ms: number; status_code: number | null; error: string | null; response: string | null };
/** A delivery from the outbox; `id` is X-Athena-Delivery. */
export type WebhookDeliveryJson = {
  id: number;
  webhook_id: number;
  event: WebhookEventName;
  task_id: number;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  created_at: string;
  delivered_at: string | null;
};
