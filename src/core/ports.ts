// The ports the core depends on: the Store contract (sqlite/ and postgres/ provide it over the same SQL) and its spec types.
import type {
  ApiKeyRecord,
  Instance,
  KeyRole,
  NewTask,
  Stats,
  Task,
  TaskEvent,
  TaskFilter,
  TaskLog,
  TaskComment,
  TaskPage,
  TaskStatus,
  FieldChange,
} from './types.js';
import type { ConcurrencyLimit, LimitScope, Pause, PauseScope } from './queue-controls-types.js';
import type { NewSchedule, RecordRunOutcome, Schedule, ScheduleChanges, ScheduleRun } from './schedule-types.js';
import type { ImportDefaultedField } from './task-fields.js';

/** Columns a transition may set, by their domain names. */
export type TaskPatch = Partial<
  Pick<
    Task,
    | 'status'
    | 'priority'
    | 'instanceId'
    | 'instanceName'
    | 'claimedAt'
    | 'completedAt'
    | 'notes'
    | 'runAfter'
    | 'leaseExpiresAt'
    | 'result'
    | 'error'
    | 'question'
    | 'answer'
    | 'blockedReason'
    | 'attempts'
    | 'reviewFeedback'
    | 'preferredInstanceId'
    | 'preferredUntil'
  > & {
    leaseToken: string | null;
    /** Length of the lease being granted (claim, heartbeat, answer), kept to tell it when it expires. */
    leaseMs: number | null;
  }
>;

/**
 * The attempts rule: a claim starts an attempt (`start`); giving the task back on purpose (release,
 * a long-poll whose client hung up, a shutdown) returns it (`giveBack`). Work that ends without
 * success (fail, an expired lease, a worker timeout) leaves it used.
 */
export type AttemptChange = 'start' | 'giveBack';

export type LogEntry = { action: string; details?: string | null; instanceId?: string | null };

/** The agent acting in a transition; `seen` refreshes its last_seen (a sweep does not). */
export type InstanceUpdate = { id: string; name?: string | null; seen: boolean };

/** Which agent labels a claim serves: '*' serves every task. */
export type LabelScope = string[] | '*';

/**
 * One state change of one task. The store turns `from`, `leaseToken`, `instanceId`,
 * `leaseExpiredBefore` and `claimable` into the UPDATE's WHERE clause, so the check and the
 * change are one atomic statement.
 */
export type TransitionSpec = {
  taskId: number;
  from: readonly TaskStatus[];
  leaseToken?: string;
  instanceId?: string;
  leaseExpiredBefore?: number;
  /** Also require: run_after passed and every dependency completed. */
  claimable?: boolean;
  /** Also require: the task is assigned to nobody or to this instance. */
  assignableTo?: string;
  /** Refuse when the instance already holds this many tasks. */
  wipLimit?: { instanceId: string; max: number };
  /** Also require the task's review flag to be this (completion goes to in_review or completed). */
  reviewRequired?: boolean;
  /** Also require attempts to still be this (the decision to requeue or fail was made from it). */
  attemptsAre?: number;
  set: TaskPatch;
  attempt?: AttemptChange;
  log: LogEntry;
  /** The agent acting, when it is not the holder (claims); recorded as seen now. */
  instance?: InstanceUpdate;
  /** The holder itself acted (heartbeat, complete, fail…): record it as seen now. */
  holderSeen?: boolean;
  /** After a task ends badly, block its pending dependants; after a retry, unblock them. */
  cascade?: 'block' | 'unblock';
  /**
   * Once changed, also read the first ready task (the original complete answer's next_task_id):
   * the store may read it in the change's own transaction, so an agent is told of the dependant
   * its completion freed without another round trip to the database.
   */
  nextReady?: boolean;
  now: number;
};

export type TransitionOutcome =
  | { ok: true; task: Task; events: TaskEvent[]; /** With `nextReady`: the first ready task's id, once changed. */ nextReadyId?: number | null }
  | { ok: false; current: Task | null; heldByInstance?: number; heldBack?: string };

/**
 * A peek of the original protocol: show the next ready task and hold it for `instanceId` (null: a
 * caller that did not name itself) until `holdUntil`; a task not held is looked for among the first
 * `window` ready tasks.
 */
export type PeekSpec = { instanceId: string | null; now: number; holdUntil: number; window: number };

/**
 * The task shown (null: none ready). `lostRace`: another peek took the hold on it at the same moment
 * (look again); a task shown because every ready task is held is not a lost race.
 */
export type PeekOutcome = { task: Task | null; lostRace: boolean };

export type ClaimNextSpec = {
  instanceId: string;
  instanceName: string | null;
  labels: LabelScope;
  /** Only tasks of these projects; empty: any project. */
  projects: string[];
  leaseToken: string;
  leaseExpiresAt: number;
  wipLimit: number;
  now: number;
};

export type ClaimNextOutcome =
  | { ok: true; task: Task; events: TaskEvent[] }
  | { ok: false; reason: 'empty' | 'wip_limit' | 'paused'; held: number };

/**
 * A create. `created: false` is an idempotent replay: the task created earlier with the same key,
 * and the request it was created with (`original`, null for tasks from before requests were kept).
 * Dependencies are checked in the insert's transaction: `missing` names those that do not exist.
 */
export type CreateOutcome =
  | { ok: true; task: Task; created: true; events: TaskEvent[] }
  | { ok: true; task: Task; created: false; events: TaskEvent[]; original: NewTask | null }
  | { ok: false; reason: 'unknown_dependency'; missing: number[] };

/**
 * One run of a schedule, written in one transaction: the schedule's next_run_at moves (only if it is
 * still `guard.expectedNextRunAt`; no guard for "run now"), the run row is inserted (UNIQUE
 * (schedule_id, run_at)), and the task is created unless `task` is null (a missed run) or, without
 * `overlap`, the schedule's previous task is still open (outcome `open`).
 */
export type RecordRunSpec = {
  scheduleId: number;
  runAt: number;
  covers: number;
  task: NewTask | null;
  overlap: boolean;
  guard: { expectedNextRunAt: number; nextRunAt: number | null } | null;
  now: number;
};

/** Adding dependencies: every check (existence, state, cycle) runs in the write's transaction. */
export type AddDependenciesOutcome =
  | { ok: true; task: Task; events: TaskEvent[] }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'not_editable'; current: Task }
  | { ok: false; reason: 'unknown_dependency'; missing: number[] }
  | { ok: false; reason: 'cycle' };

/** Fields an edit may change, by their domain names; labels and dependencies are replaced whole. */
export type TaskEditFields = Partial<Pick<Task, 'description' | 'priority' | 'notes' | 'project' | 'labels' | 'dependsOn' | 'maxAttempts' | 'runAfter' | 'assignee'>>;

export type TaskEditSpec = { taskId: number; fields: TaskEditFields; by: string | null; now: number };

/** An edit: every check (state, dependencies exist, no cycle) runs in the write's transaction. */
export type EditOutcome =
  | { ok: true; task: Task; changes: FieldChange[]; events: TaskEvent[] }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'not_editable'; current: Task; field?: string }
  | { ok: false; reason: 'unknown_dependency'; missing: number[] }
  | { ok: false; reason: 'cycle' };

export type DeleteSpec = { taskId: number; force: boolean; by: string | null; now: number };

export type DeleteOutcome =
  | { ok: true; task: Task; events: TaskEvent[] }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'held'; current: Task }
  | { ok: false; reason: 'has_dependants'; dependants: number[] };

export type NewComment = { taskId: number; author: string; body: string; source: string; discordMessageId: string | null; now: number };

/** `created: false`: a Discord message already kept as this comment (delivered twice). */
export type CommentOutcome = { ok: true; comment: TaskComment; created: boolean; events: TaskEvent[] } | { ok: false; reason: 'not_found' };

/** What the holder of a task has not yet been told: the description changed, comments since. */
export type HolderNotice = { descriptionChanged: boolean; comments: TaskComment[] };

/** A lease that ran out, as the sweeper needs it: `leaseMs` is null for leases granted before it was kept. */
/** What tasks' end made claimable (Store.freedBy). */
export type Freed = {
  dependants: Task[];
  limited: boolean;
  /** Whether any pending task has dependencies at all (true when no dependants were read): when none has, completions free none until one does. */
  anyWaiting: boolean;
};

export type ExpiredLease = { id: number; leaseToken: string; attempts: number; maxAttempts: number; leaseMs: number | null };

export type BulkFilter = { label?: string; project?: string; priority?: Task['priority']; search?: string; instanceId?: string };
/** Output the holder of a task's lease sends while its command runs (see sql-output.ts). */
export type AppendOutputSpec = { taskId: number; leaseToken: string; offset: number; text: string; capBytes: number; now: number };

/** `stored` is what was new (null for a batch already stored); `end` the run's output length so far. */
export type AppendOutputOutcome =
  | { ok: true; run: number; end: number; stored: { offset: number; text: string } | null }
  | { ok: false; current: Task | null };

/** A run's output from byte `start` to byte `end` (what the cap kept of it). */
export type OutputRead = { run: number; start: number; end: number; text: string };


/** A task as an export carries it: every field of core/task-fields.ts but the derived ones (EXPORTED_FIELDS). */
export type ExportedTask = Task & { leaseToken: string | null; leaseMs: number | null; idempotencyRequest: unknown };

export type ExportData = {
  version: 1;
  exportedAt: string;
  tasks: ExportedTask[];
  logs: TaskLog[];
  /** Absent in exports from before comments existed. */
  comments?: TaskComment[];
  instances: Instance[];
  /** Absent in exports from before schedules were exported. */
  schedules?: Schedule[];
  /** Each schedule's handled occurrences (so a restored schedule does not run an occurrence again). */
  scheduleRuns?: ScheduleRun[];
};

/** What an import takes: an export, perhaps an older one that lacks fields added since (their importDefault fills them). */
export type ImportData = Omit<ExportData, 'tasks'> & {
  tasks: Array<Omit<ExportedTask, ImportDefaultedField> & Partial<Pick<ExportedTask, ImportDefaultedField>>>;
};

/** Log actions the daily summary counts. */
export type ActivityCounted = 'created' | 'completed' | 'failed' | 'requeued' | 'cancelled';
export type SlowTask = { taskId: number; description: string; instanceId: string | null; instanceName: string | null; durationMs: number; completedAt: number };
export type AgentActivity = { instanceId: string; instanceName: string | null; claimed: number; completed: number; failed: number };

/** What happened in a window (from, to]: counts of log actions, the queue as it is now, the slowest completions, each agent's work. */
export type Activity = {
  /** Missing actions and statuses had none. */
  counts: Partial<Record<ActivityCounted, number>>;
  byStatus: Partial<Record<TaskStatus, number>>;
  oldestPendingAt: number | null;
  /** Completed in the window, longest claim-to-completion first. */
  slowest: SlowTask[];
  /** Every agent that claimed or finished a task in the window, in no order. */
  agents: AgentActivity[];
};

export interface Store {
  createTask(task: NewTask, now: number): Promise<CreateOutcome>;
  claimNext(spec: ClaimNextSpec): Promise<ClaimNextOutcome>;
  transition(spec: TransitionSpec): Promise<TransitionOutcome>;
  addDependencies(taskId: number, dependsOn: number[], now: number): Promise<AddDependenciesOutcome>;
  editTask(spec: TaskEditSpec): Promise<EditOutcome>;
  /** Deletes a task, its log and comments; `force` takes it from its holder and blocks its dependants. */
  deleteTask(spec: DeleteSpec): Promise<DeleteOutcome>;
  addComment(comment: NewComment): Promise<CommentOutcome>;
  commentsOn(taskId: number): Promise<TaskComment[]>;
  /**
   * Tells the holder what it has not seen (as `task` shows it) and marks it seen, unless it changed
   * again meanwhile (then it is told at the next heartbeat).
   */
  takeHolderNotice(task: Task): Promise<HolderNotice>;

  /** Pauses and concurrency limits, read by every claim in its transaction (so they hold across replicas and restarts). */
  setPause(scope: PauseScope, by: string | null, reason: string | null, now: number): Promise<Pause>;
  removePause(scope: PauseScope): Promise<Pause | null>;
  listPauses(): Promise<Pause[]>;
  setLimit(scope: LimitScope, max: number, by: string | null, now: number): Promise<ConcurrencyLimit>;
  removeLimit(scope: LimitScope): Promise<boolean>;
  listLimits(): Promise<ConcurrencyLimit[]>;

  /** Schedules (recurring tasks) and their runs; recordScheduleRun is the one write a run makes. */
  createSchedule(schedule: NewSchedule, now: number): Promise<Schedule>;
  getSchedule(id: number): Promise<Schedule | null>;
  listSchedules(): Promise<Schedule[]>;
  updateSchedule(id: number, changes: ScheduleChanges, now: number): Promise<Schedule | null>;
  deleteSchedule(id: number): Promise<boolean>;
  /** Unpaused schedules with next_run_at at or before `now`, earliest first. */
  dueSchedules(now: number, limit: number): Promise<Schedule[]>;
  scheduleRuns(scheduleId: number, limit: number): Promise<ScheduleRun[]>;
  recordScheduleRun(spec: RecordRunSpec): Promise<RecordRunOutcome | { ok: false; reason: 'not_found' }>;

  getTask(id: number): Promise<Task | null>;
  /** A task and its lease token, read together. */
  getTaskWithLease(id: number): Promise<{ task: Task; leaseToken: string | null } | null>;
  /** Ids of the first `limit` pending tasks in queue order that are ready (due, dependencies completed): what a claim by id accepts. */
  readyIds(now: number, limit: number, instanceId?: string | null): Promise<number[]>;
  /**
   * The original protocol's peek: the caller's own live hold if it has one, else the first ready task
   * in queue order nobody holds, else the first ready task; takes the hold (not for the last case) in
   * the same step, so holds are shared by every replica on one database.
   */
  peekAndHold(spec: PeekSpec): Promise<PeekOutcome>;
  logsFor(taskId: number): Promise<TaskLog[]>;
  listTasks(filter: TaskFilter): Promise<TaskPage>;
  stats(): Promise<Stats>;
  listInstances(): Promise<Instance[]>;
  /** Whether an agent with this instance id was ever seen. */
  instanceKnown(id: string): Promise<boolean>;
  touchInstance(id: string, name: string | null, now: number): Promise<void>;
  markInstancesOffline(seenBefore: number): Promise<string[]>;
  expiredLeases(now: number, limit: number): Promise<ExpiredLease[]>;
  /** Pending tasks whose attempts are all used (never claimed; the sweeper fails them). */
  spentTasks(limit: number): Promise<Array<{ id: number; attempts: number; maxAttempts: number }>>;
  /** Earliest future run_after, or end of the time a task is kept for one agent, among pending tasks: to wake long-poll waiters on time. */
  nextRunAfter(now: number): Promise<number | null>;
  /**
   * What the end of these tasks (completed, failed, cancelled) may have made claimable: the pending
   * dependants of those completed that now wait on no other task (at most `limit`, in claiming
   * order; not read with `dependants: false`); and whether a concurrency limit counts one of them by
   * a label or project (a place under it is free).
   */
  freedBy(tasks: ReadonlyArray<Pick<Task, 'id' | 'status' | 'labels' | 'project'>>, limit: number, options?: { dependants?: boolean }): Promise<Freed>;
  /** Pending tasks whose run_after, or the end of the time they are kept for one agent, falls in [from, to] (at most `limit`, in claiming order). */
  cameDue(from: number, to: number, limit: number): Promise<Task[]>;

  retryFailed(filter: BulkFilter, now: number): Promise<{ count: number; events: TaskEvent[] }>;
  cancelPending(filter: BulkFilter, now: number, by: string | null): Promise<{ count: number; events: TaskEvent[] }>;
  purgeFinished(before: number, now: number): Promise<{ count: number; events: TaskEvent[] }>;
  countPurgeable(before: number): Promise<number>;
  /** What happened in (from, to], for the daily summary; `slowestLimit` bounds its slowest tasks. */
  activity(from: number, to: number, counted: readonly ActivityCounted[], slowestLimit: number): Promise<Activity>;

  appendOutput(spec: AppendOutputSpec): Promise<AppendOutputOutcome>;
  readOutput(taskId: number, run: number, since: number, capBytes: number): Promise<OutputRead>;

  /** Records an event about no task in particular (e.g. the daily summary), for the notifier to post. */
  recordEvent(entry: LogEntry, now: number): Promise<TaskEvent>;
  eventsSince(afterId: number, limit: number): Promise<TaskEvent[]>;
  lastEventId(): Promise<number>;
  /**
   * Another process (a replica) wrote a task pending until `at` (an event the cross-replica feed
   * read): this store's claims at `at` or later first clear the marks of delayed tasks come due, so
   * the task is claimable here at its time rather than up to a second later.
   */
  noteDelayed(at: number): void;
  getCursor(name: string): Promise<number | null>;
  setCursor(name: string, position: number, now: number): Promise<void>;

  exportAll(): Promise<ExportData>;
  /** Restores an export; refused (`ok: false`, with the count found) unless the queue is empty, checked in the same transaction. */
  importAll(data: ImportData, now: number): Promise<{ ok: true; tasks: number; logs: number; schedules: number } | { ok: false; total: number; schedules: number }>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What a reader of the event log needs (the Discord notifier): events, the newest id, its cursors. */
export type EventLogPort = Pick<Store, 'eventsSince' | 'lastEventId' | 'getCursor' | 'setCursor'>;

/** A key to record: its hash and first characters, never the key itself. */
export type NewApiKey = { name: string; role: KeyRole; instanceId: string | null; keyHash: string; prefix: string };

/** Per-agent API keys (the API's authentication and the `athena keys` commands). */
export interface KeyStore {
  create(key: NewApiKey, now: number): Promise<ApiKeyRecord>;
  list(): Promise<ApiKeyRecord[]>;
  get(id: number): Promise<ApiKeyRecord | null>;
  /** The key with this hash, unless it was revoked. */
  findActive(keyHash: string): Promise<ApiKeyRecord | null>;
  /** Marks the key revoked; returns it (already revoked keys keep their first revocation time). */
  revoke(id: number, now: number): Promise<ApiKeyRecord | null>;
  touch(id: number, now: number): Promise<void>;
}

/** The Discord user behind each task queued with /task (the bot's narrow store). */
export interface DiscordSubmitters {
  record(taskId: number, userId: string, now: number): Promise<void>;
  /** The Discord user id that queued the task; null for tasks from elsewhere (or queued before ids were kept). */
  userOf(taskId: number): Promise<string | null>;
}
