// zod schemas of what the task routes answer: they serialize the replies, describe them in OpenAPI and type the client.
// Only zod and the domain's constants here, so the client (src/client) can bundle this file without the server.
import { z } from 'zod';
import { PRIORITIES, TASK_STATUSES } from '../core/types.js';
import { taskJsonSchema as taskFieldsJsonSchema } from '../core/task-json.js';

const time = z.string().describe('ISO 8601, UTC');
const maybeTime = time.nullable();

/** A task as every route answers it: derived from the one declaration (core/task-fields.ts). */
export const taskJsonSchema = taskFieldsJsonSchema.describe('a task');

export const claimedTaskJsonSchema = taskJsonSchema
  .extend({ lease_token: z.string().describe('proof of holding the task: send it with every later call on it') })
  .describe('a task handed to the agent that holds it');

export const logJsonSchema = z.object({
  id: z.number().int(),
  task_id: z.number().int().nullable(),
  action: z.string(),
  details: z.string().nullable(),
  instance_id: z.string().nullable(),
  timestamp: time,
});

export const instanceJsonSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  last_seen: maybeTime,
  current_task_id: z.number().int().nullable(),
  status: z.enum(['idle', 'working', 'offline']),
});

const countByStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof TASK_STATUSES)[number], z.ZodNumber>;

export const statsJsonSchema = z.object({
  ...countByStatus,
  total: z.number().int(),
  oldest_pending_age_seconds: z.number().nullable(),
  active_instances: z.number().int(),
  instances: z.array(instanceJsonSchema),
});

export const taskPageSchema = z.object({
  tasks: z.array(taskJsonSchema),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});

export const createdSchema = z.object({
  task_id: z.number().int(),
  status: z.enum(TASK_STATUSES),
  created: z.boolean().describe('false when the Idempotency-Key named a task created before (answered 200)'),
  task: taskJsonSchema,
  warnings: z.array(z.string()).optional().describe('what was accepted but looks wrong, e.g. an assignee that is no known instance'),
});

export const nextTaskSchema = z.object({ task: taskJsonSchema.nullable() });

export const claimedSchema = z.object({
  status: z.literal('claimed'),
  task_id: z.number().int(),
  lease_token: z.string(),
  lease_expires_at: time,
  task: claimedTaskJsonSchema,
});

export const claimNextSchema = z.object({ task: claimedTaskJsonSchema.nullable().describe('null when no task is ready (after `wait`)') });

/** What a change with claim_next hands over (complete, fail). */
const nextTask = claimedTaskJsonSchema.nullable().optional().describe('with claim_next: the task now claimed for this agent, null when none is ready');

export const completedSchema = z.object({
  status: z.enum(['completed', 'in_review']).describe('in_review when the task requires review'),
  task_id: z.number().int(),
  next_task_id: z.number().int().nullable().describe('the next ready task, to claim next; with claim_next, the task claimed (when one was)'),
  task: taskJsonSchema,
  next_task: nextTask,
});

/** Answer of the routes that change one task (fail, release, ask, answer, cancel, retry, dependencies). */
export const taskChangeSchema = z.object({ status: z.enum(TASK_STATUSES), task_id: z.number().int(), task: taskJsonSchema });

/** Answer of fail: the change, and with claim_next the agent's next task. */
export const failedSchema = taskChangeSchema.extend({ next_task: nextTask });

export const commentJsonSchema = z.object({
  id: z.number().int(),
  task_id: z.number().int(),
  author: z.string(),
  body: z.string(),
  source: z.string().describe('where it was written: api, cli, dashboard, discord, agent'),
  created_at: time,
});
export const commentSchema = z.object({ comment: commentJsonSchema });
export const commentsSchema = z.object({ comments: z.array(commentJsonSchema) });

export const heartbeatSchema = taskChangeSchema.extend({
  lease_expires_at: maybeTime,
  description_changed: z.boolean().optional().describe('the description was edited since the last heartbeat'),
  new_comments: z.array(commentJsonSchema).optional().describe('comments written since the last heartbeat'),
});
export const requeuedHeldSchema = z.object({
  tasks: z
    .array(taskChangeSchema.extend({ previous_status: z.enum(TASK_STATUSES) }))
    .describe('each task the instance held: pending again, or failed when it had no attempt left'),
});
export const priorityChangeSchema = taskChangeSchema.extend({ priority: z.enum(PRIORITIES) });
export const fieldChangeSchema = z.object({ field: z.string(), old: z.unknown(), new: z.unknown() });
export const editedSchema = priorityChangeSchema.extend({
  changes: z.array(fieldChangeSchema).describe('each field changed, old and new'),
  warnings: z.array(z.string()).describe('what was accepted but looks wrong, e.g. an assignee that is no known instance'),
});
export const deletedSchema = z.object({ status: z.literal('deleted'), task_id: z.number().int(), task: taskJsonSchema.describe('the task as it was') });

/** Answer of POST /api/tasks/:id/output: where the attempt's output now ends. */
export const outputAppendedSchema = z.object({
  task_id: z.number().int(),
  attempt: z.number().int(),
  end: z.number().int().describe('byte offset where the attempt\'s output now ends: the `offset` of the next batch'),
});

export const taskWithLogsSchema = z.object({ task: taskJsonSchema, logs: z.array(logJsonSchema) });
export const instancesSchema = z.object({ instances: z.array(instanceJsonSchema) });

export const errorSchema = z.object({
  error: z.string().describe('what went wrong, for people'),
  code: z.string().describe('what went wrong, for programs: NOT_FOUND, LEASE_MISMATCH, VALIDATION_ERROR …'),
  details: z.unknown().optional(),
});

export type TaskJson = z.infer<typeof taskJsonSchema>;
export type ClaimedTaskJson = z.infer<typeof claimedTaskJsonSchema>;
export type LogJson = z.infer<typeof logJsonSchema>;
export type InstanceJson = z.infer<typeof instanceJsonSchema>;
export type StatsJson = z.infer<typeof statsJsonSchema>;
export type TaskPageJson = z.infer<typeof taskPageSchema>;
export type CreatedJson = z.infer<typeof createdSchema>;
export type ClaimedJson = z.infer<typeof claimedSchema>;
export type CompletedJson = z.infer<typeof completedSchema>;
export type TaskChangeJson = z.infer<typeof taskChangeSchema>;
export type FailedJson = z.infer<typeof failedSchema>;
export type HeartbeatJson = z.infer<typeof heartbeatSchema>;
export type PriorityChangeJson = z.infer<typeof priorityChangeSchema>;
export type CommentJson = z.infer<typeof commentJsonSchema>;
export type EditedJson = z.infer<typeof editedSchema>;
export type DeletedJson = z.infer<typeof deletedSchema>;
export type RequeuedHeldJson = z.infer<typeof requeuedHeldSchema>;
export type OutputAppendedJson = z.infer<typeof outputAppendedSchema>;
export type ErrorJson = z.infer<typeof errorSchema>;
