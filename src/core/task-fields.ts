// A task's fields, declared once: each one's name, tasks column, JSON key, type, nullability and how
// it is stored. Row mapping (store/rows.ts), the column lists of the SQL, the JSON answer and its zod
// schema (core/task-json.ts) are derived from this list; adding a field is one entry here, a
// migration, and the code that really uses it.
import { PRIORITIES, TASK_STATUSES } from './types.js';

/**
 * What a field holds: `integer`, `text`, `time` (integer ms in the store, ISO 8601 in JSON; for
 * `timeOrNone` 0 means none and JSON says null), `json` (any value, stored as JSON text), `status`/`priority` (one of
 * the domain's names), `labels` (strings) and `ids` (task ids).
 */
export type FieldType = 'boolean' | 'integer' | 'text' | 'time' | 'timeOrNone' | 'json' | 'status' | 'priority' | 'labels' | 'ids';

export type TaskField = {
  /** The name in the domain (Task, TaskPatch, export data). */
  readonly name: string;
  /** The column of `tasks` holding it. */
  readonly column: string;
  /** The key in the API's task JSON; null when the API never shows it. */
  readonly json: string | null;
  readonly type: FieldType;
  readonly nullable: boolean;
  /**
   * `value`: as is; `json-text`: JSON text in a text column; `derived`: computed from another field
   * when written (priority_rank from priority). Lists are JSON text for now (task_labels and
   * task_deps hold them as rows too, for queries).
   */
  readonly stored: 'value' | 'json-text' | 'derived';
  /** Part of the domain's Task (the rest are the store's own: lease token, lease length, bookkeeping). */
  readonly inTask: boolean;
};

type FieldOptions = { nullable?: boolean; json?: string | null; stored?: TaskField['stored']; inTask?: boolean };

/** One entry; the literal types of name, column, JSON key, type and nullability are kept for task-json.ts. */
function field<const N extends string, const C extends string, const T extends FieldType, const O extends FieldOptions = {}>(
  name: N,
  column: C,
  type: T,
  options?: O,
): TaskField & { name: N; column: C; type: T; json: O extends { json: infer J } ? J : C; nullable: O extends { nullable: true } ? true : false } {
  const o: FieldOptions = options ?? {};
  return {
    name,
    column,
    json: o.json === undefined ? column : o.json,
    type,
    nullable: o.nullable ?? false,
    stored: o.stored ?? (type === 'json' || type === 'labels' || type === 'ids' ? 'json-text' : 'value'),
    inTask: o.inTask ?? true,
  } as never;
}

/** Every column of `tasks`; the JSON keys appear in this order. */
export const TASK_FIELDS = [
  field('id', 'id', 'integer'),
  field('description', 'description', 'text'),
  field('status', 'status', 'status'),
  field('priority', 'priority', 'priority'),
  // Queue order of the priority, kept beside it so the queue index sorts by a number.
  field('priorityRank', 'priority_rank', 'integer', { json: null, stored: 'derived', inTask: false }),
  field('instanceId', 'instance_id', 'text', { nullable: true }),
  field('instanceName', 'instance_name', 'text', { nullable: true }),
  field('createdAt', 'created_at', 'time'),
  field('claimedAt', 'claimed_at', 'time', { nullable: true }),
  field('completedAt', 'completed_at', 'time', { nullable: true }),
  field('updatedAt', 'updated_at', 'time'),
  field('notes', 'notes', 'text', { nullable: true }),
  field('submittedBy', 'submitted_by', 'text', { nullable: true }),
  field('project', 'project', 'text', { nullable: true }),
  field('labels', 'labels', 'labels'),
  field('dependsOn', 'depends_on', 'ids'),
  field('attempts', 'attempts', 'integer'),
  field('maxAttempts', 'max_attempts', 'integer'),
  field('runAfter', 'run_after', 'timeOrNone'),
  // The fence of the lease: handed only to the holder, on its claim, never in a task's JSON.
  field('leaseToken', 'lease_token', 'text', { nullable: true, json: null, inTask: false }),
  field('leaseExpiresAt', 'lease_expires_at', 'time', { nullable: true }),
  field('result', 'result', 'json', { nullable: true }),
  field('error', 'error', 'text', { nullable: true }),
  field('question', 'question', 'text', { nullable: true }),
  field('answer', 'answer', 'text', { nullable: true }),
  field('blockedReason', 'blocked_reason', 'text', { nullable: true }),
  field('idempotencyKey', 'idempotency_key', 'text', { nullable: true, json: null }),
  // Length of the lease granted last, to tell the holder when it expires after a heartbeat.
  field('leaseMs', 'lease_ms', 'integer', { nullable: true, json: null, inTask: false }),
  // The create request kept with its idempotency key, to tell a replay from a different request.
  field('idempotencyRequest', 'idempotency_request', 'json', { nullable: true, json: null, inTask: false }),
  // The one agent instance that may claim the task; null: any agent.
  field('assignee', 'assignee', 'text', { nullable: true }),
  // What the holder has not been told yet (at its next heartbeat): 1 when the description changed, and the first unseen comment.
  field('descriptionUnseen', 'description_unseen', 'integer', { json: null }),
  field('commentsUnseenFrom', 'comments_unseen_from', 'integer', { nullable: true, json: null }),
  // Review: completing it moves it to in_review; what the last reviewer asked for; who gets it first after that.
  field('review', 'review_required', 'boolean', { json: 'review' }),
  field('reviewFeedback', 'review_feedback', 'text', { nullable: true }),
  field('preferredInstanceId', 'preferred_instance_id', 'text', { nullable: true }),
  field('preferredUntil', 'preferred_until', 'time', { nullable: true }),
  // How many times it was claimed: each run's live output is kept apart under this number.
  field('runs', 'runs', 'integer'),
  // The schedule that created it; null for tasks created by hand.
  field('scheduleId', 'schedule_id', 'integer', { nullable: true }),
] as const;

export type TaskFieldName = (typeof TASK_FIELDS)[number]['name'];

/** The columns of `tasks`, in order. */
export const TASK_COLUMNS: readonly string[] = TASK_FIELDS.map((f) => f.column);

const BY_NAME = new Map<string, TaskField>(TASK_FIELDS.map((f) => [f.name, f]));

export function taskField(name: TaskFieldName): TaskField {
  return BY_NAME.get(name)!;
}

/** The allowed values of the enumerated types. */
export const FIELD_VALUES = { status: TASK_STATUSES, priority: PRIORITIES } as const;
