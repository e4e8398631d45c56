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
