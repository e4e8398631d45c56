// A task's fields, declared once: each one's name, tasks column, JSON key, type, nullability and how
// it is stored. The domain's Task type (DeclaredTask below), row mapping (store/rows.ts), the column
// lists of the SQL, the JSON answer and its zod schema (core/task-json.ts) are derived from this
// list; adding a field is one entry here, a migration, and the code that really uses it.
import { PRIORITIES, TASK_STATUSES, type Priority, type TaskStatus } from './types.js';

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
   * when written (priority_rank from priority), or from other tasks' rows (the dependency flags).
   * Lists are JSON text, their one home (queries read them as rows: store/sql-lists.ts).
   */
  readonly stored: 'value' | 'json-text' | 'derived';
  /** Part of the domain's Task (the rest are the store's own: lease token, lease length, bookkeeping). */
  readonly inTask: boolean;
  /**
   * For a field added after exports were first written: the value a task of an older export gets
   * (from the task's other fields), so every export stays importable. Without it, an export must
   * carry the field.
   */
  readonly importDefault?: (task: Readonly<Record<string, unknown>>) => unknown;
  /**
   * Stored in each event of the task's log (what its lifecycle changes: status, holder, times,
   * outcome). False for what only creating or editing sets (description, labels, …): an event read
   * back from the log shows those as the task's row holds them now (store/event-payload.ts).
   */
  readonly inEvent: boolean;
};

type FieldOptions = {
  nullable?: boolean;
  json?: string | null;
  stored?: TaskField['stored'];
  inTask?: boolean;
  importDefault?: TaskField['importDefault'];
  inEvent?: boolean;
};

/** One entry; the literal types of name, column, JSON key, type and nullability are kept for task-json.ts. */
function field<const N extends string, const C extends string, const T extends FieldType, const O extends FieldOptions = {}>(
  name: N,
  column: C,
  type: T,
  options?: O,
): TaskField & {
  name: N;
  column: C;
  type: T;
  json: O extends { json: infer J } ? J : C;
  nullable: O extends { nullable: true } ? true : false;
  inTask: O extends { inTask: false } ? false : true;
  optionalInImport: O extends { importDefault: TaskField['importDefault'] } ? true : false;
} {
  const o: FieldOptions = options ?? {};
  return {
    name,
    column,
    json: o.json === undefined ? column : o.json,
    type,
    nullable: o.nullable ?? false,
    stored: o.stored ?? (type === 'json' || type === 'labels' || type === 'ids' ? 'json-text' : 'value'),
    inTask: o.inTask ?? true,
    inEvent: (o.inTask ?? true) && (o.inEvent ?? true),
    ...(o.importDefault ? { importDefault: o.importDefault } : {}),
  } as never;
}

/** Absent from exports written before the field existed. */
const none = () => null;
/** Before runs were counted, every claim was an attempt. */
const runsFromAttempts = (task: Readonly<Record<string, unknown>>) => task.attempts;

/** What was asked for: set when the task is created or edited, never by its lifecycle (not stored in its events). */
const ASKED = { inEvent: false } as const;

/** Every column of `tasks`; the JSON keys appear in this order. */
export const TASK_FIELDS = [
  // An event of the task's log names it in its own column (task_id).
  field('id', 'id', 'integer', { inEvent: false }),
  field('description', 'description', 'text', ASKED),
  field('status', 'status', 'status'),
  field('priority', 'priority', 'priority', ASKED),
  // Queue order of the priority, kept beside it so the queue index sorts by a number.
  field('priorityRank', 'priority_rank', 'integer', { json: null, stored: 'derived', inTask: false }),
  field('instanceId', 'instance_id', 'text', { nullable: true }),
  field('instanceName', 'instance_name', 'text', { nullable: true }),
  field('createdAt', 'created_at', 'time', ASKED),
  field('claimedAt', 'claimed_at', 'time', { nullable: true }),
  field('completedAt', 'completed_at', 'time', { nullable: true }),
  field('updatedAt', 'updated_at', 'time'),
  field('notes', 'notes', 'text', { nullable: true }),
  field('submittedBy', 'submitted_by', 'text', { nullable: true, ...ASKED }),
  field('project', 'project', 'text', { nullable: true, ...ASKED }),
  field('labels', 'labels', 'labels', ASKED),
  field('dependsOn', 'depends_on', 'ids', ASKED),
  field('attempts', 'attempts', 'integer'),
  field('maxAttempts', 'max_attempts', 'integer', ASKED),
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
  field('leaseMs', 'lease_ms', 'integer', { nullable: true, json: null, inTask: false, importDefault: none }),
  // The create request kept with its idempotency key, to tell a replay from a different request.
  field('idempotencyRequest', 'idempotency_request', 'json', { nullable: true, json: null, inTask: false, importDefault: none }),
  // The one agent instance that may claim the task; null: any agent.
  field('assignee', 'assignee', 'text', { nullable: true, importDefault: none, ...ASKED }),
  // What the holder has not been told yet (at its next heartbeat): 1 when the description changed, and the first unseen comment.
  field('descriptionUnseen', 'description_unseen', 'integer', { json: null, importDefault: () => 0 }),
  field('commentsUnseenFrom', 'comments_unseen_from', 'integer', { nullable: true, json: null, importDefault: none }),
  // Review: completing it moves it to in_review; what the last reviewer asked for; who gets it first after that.
  field('review', 'review_required', 'boolean', { json: 'review', importDefault: () => false, ...ASKED }),
  field('reviewFeedback', 'review_feedback', 'text', { nullable: true, importDefault: none }),
  field('preferredInstanceId', 'preferred_instance_id', 'text', { nullable: true, importDefault: none }),
  field('preferredUntil', 'preferred_until', 'time', { nullable: true, importDefault: none }),
  // How many times it was claimed: each run's live output is kept apart under this number.
  field('runs', 'runs', 'integer', { importDefault: runsFromAttempts }),
  // The schedule that created it; null for tasks created by hand (and in exports from before schedules).
  field('scheduleId', 'schedule_id', 'integer', { nullable: true, importDefault: none, ...ASKED }),
  // Readiness by dependencies, kept by the store from other tasks' rows (store/sql-waiting.ts): 1 for
  // a pending task known to wait on an unfinished dependency, and for a task some task depends on.
  field('waitingOnDependencies', 'waiting_on_dependencies', 'integer', { json: null, stored: 'derived', inTask: false }),
  field('hasDependants', 'has_dependants', 'integer', { json: null, stored: 'derived', inTask: false }),
  // Readiness by time (store/sql-due.ts): 1 for a pending task known to be delayed (its run_after later than when it was written).
  field('waitingOnTime', 'waiting_on_time', 'integer', { json: null, stored: 'derived', inTask: false }),
] as const;

export type TaskFieldName = (typeof TASK_FIELDS)[number]['name'];

/** What each field type holds in the domain (times are integer ms; `timeOrNone` is 0 for none). */
type DomainTypes = {
  boolean: boolean;
  integer: number;
  text: string;
  time: number;
  timeOrNone: number;
  json: unknown;
  status: TaskStatus;
  priority: Priority;
  labels: string[];
  ids: number[];
};
type DeclaredField = (typeof TASK_FIELDS)[number];
type DomainValue<F extends DeclaredField> = F['nullable'] extends true ? DomainTypes[F['type']] | null : DomainTypes[F['type']];

/** The domain's Task (core/types.ts), derived from the declaration: every field with inTask, by its name. */
export type DeclaredTask = { [F in DeclaredField as F['inTask'] extends true ? F['name'] : never]: DomainValue<F> };

/** The columns of `tasks`, in order. */
export const TASK_COLUMNS: readonly string[] = TASK_FIELDS.map((f) => f.column);

const BY_NAME = new Map<string, TaskField>(TASK_FIELDS.map((f) => [f.name, f]));

export function taskField(name: TaskFieldName): TaskField {
  return BY_NAME.get(name)!;
}

/** The allowed values of the enumerated types. */
export const FIELD_VALUES = { status: TASK_STATUSES, priority: PRIORITIES } as const;

/**
 * What an export carries of each task, by domain name: every field but the derived ones. The export
 * and import schemas (api/routes/bulk.ts), the reading (store/rows.ts) and the writing
 * (store/sql-bulk.ts) all use this list, so a new field is exported and imported without more code.
 */
export const EXPORTED_FIELDS: readonly TaskField[] = TASK_FIELDS.filter((f) => f.stored !== 'derived');

/** Fields an import may lack (older exports), each filled in by its importDefault. */
export type ImportDefaultedField = Extract<(typeof TASK_FIELDS)[number], { optionalInImport: true }>['name'];

/** A task of an export with the fields an older export lacks filled in from their importDefault. */
export function withImportDefaults<T extends Record<string, unknown>>(task: T): T {
  const filled: Record<string, unknown> = { ...task };
  for (const f of EXPORTED_FIELDS) {
    if (filled[f.name] === undefined && f.importDefault) filled[f.name] = f.importDefault(task);
  }
  return filled as T;
}
