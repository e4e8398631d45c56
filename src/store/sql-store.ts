// The Store over SQL shared by SQLite and PostgreSQL: creates, claims and transitions (reads and bulk actions beside it).
import { PRIORITY_RANK, type NewTask, type Task, type TaskComment, type TaskEvent } from '../core/types.js';
import { LOCK_NAMES, answered, lockNamedThen, placeholders, type Db, type Queryable, type Unanswered } from './db.js';
import { SqlReads } from './sql-reads.js';
import * as bulk from './sql-bulk.js';
import { plannerStatistics, type PlannerStatistics } from './statistics.js';
import { FIRST_OF_EACH_LIST, HELD_SQL, assigneeCondition, coveredLabelLists, firstAcrossLists, idIn, labelCondition, projectCondition, readyCondition, walkSource } from './sql-conditions.js';
import * as output from './sql-output.js';
import { appendLog, appendTaskLogs, blockDependants, blockIfDependencyEnded, logThen, recordSeen, unblockDependants, type MarkSeen, type Seen } from './sql-task-writes.js';
import { WebhooksInForce } from './sql-webhooks.js';
import { claimKind, serveClaims } from './sql-claim-batch.js';
import { claimParts, nextReadyAfter, type ReadyFor } from './sql-held-back.js';
import { serveTransitions, transitionKeys, transitionKind } from './sql-transition-batch.js';
import { WriteBatches, type Served } from './write-batches.js';
import { addDependencies, lockGraph } from './sql-dependencies.js';
import * as controls from './sql-queue-controls.js';
import * as schedules from './sql-schedules.js';
import type { NewSchedule, RecordRunOutcome, Schedule, ScheduleChanges, ScheduleRun } from '../core/schedule-types.js';
import type { ClaimControls, ConcurrencyLimit, LimitScope, Pause, PauseScope } from '../core/queue-controls-types.js';
import { LastSeenThrottle } from './last-seen-throttle.js';
import * as edits from './sql-task-edits.js';
import { rowToTask, type TaskRow } from './rows.js';
import { changeTask, taskChange } from './task-change.js';
import { taskInsert } from './task-columns.js';
import { peekAndHold, peeksInOneTransaction } from './sql-peek-holds.js';
import { WALKED, afterTransition, dependenciesWritten } from './sql-waiting.js';
import type {
  AddDependenciesOutcome,
  AppendOutputSpec,
  BulkFilter,
  CommentOutcome,
  DeleteOutcome,
  DeleteSpec,
  EditOutcome,
  HolderNotice,
  NewComment,
  TaskEditSpec,
  CreateOutcome,
  ClaimNextOutcome,
  ClaimNextSpec,
  ExportData,
  ImportData,
  LabelScope,
  LogEntry,
  PeekOutcome,
  PeekSpec,
  Store,
  TransitionOutcome,
  TransitionSpec,
  RecordRunSpec,
} from '../core/ports.js';

const rank = (p: Task['priority']): number => PRIORITY_RANK[p];


/** The row a create writes (the rest take their defaults); a replay of the key inserts nothing. */
const CREATE_TASK = taskInsert(
  ['description', 'status', 'priority', 'priorityRank', 'createdAt', 'updatedAt', 'notes', 'submittedBy', 'project', 'labels', 'dependsOn', 'maxAttempts', 'runAfter', 'waitingOnTime', 'idempotencyKey', 'idempotencyRequest', 'assignee', 'review', 'scheduleId'],
  'ON CONFLICT (idempotency_key) DO NOTHING RETURNING *',
);

/** The row a create writes. */
function createdRow(input: NewTask, now: number) {
  // Who queued it from Discord is kept in discord_submitters, not in the task or its request.
  const { idempotencyKey, discordUserId: _submitter, ...request } = input;
  return {
    description: input.description, status: 'pending', priority: input.priority, priorityRank: rank(input.priority),
    createdAt: now, updatedAt: now, notes: input.notes, submittedBy: input.submittedBy, project: input.project,
    labels: input.labels, dependsOn: input.dependsOn, maxAttempts: input.maxAttempts, runAfter: input.runAfter, waitingOnTime: input.runAfter > now ? 1 : 0,
    idempotencyKey, idempotencyRequest: idempotencyKey === null ? null : request, assignee: input.assignee ?? null,
    review: input.review === true, scheduleId: input.scheduleId ?? null,
  };
}

/** The created event's details. */
const createdBy = (input: NewTask): string | null => (input.submittedBy ? `by ${input.submittedBy}` : null);

/** A create batched with others (see createTask), with its batch key. */
type PlainCreate = { input: NewTask; now: number; key: string };

/** A peek with the batch key it runs under (SqlStore.peekAndHold). */
type KeyedPeek = { key: string; spec: PeekSpec };

export class SqlStore extends SqlReads implements Store {
  private readonly statistics: PlannerStatistics;
  private readonly lastSeen = new LastSeenThrottle();
  private readonly controlsInForce = new controls.ControlsCache();
  private readonly webhooksInForce = new WebhooksInForce();
  /** Where the backend batches writes (Capabilities.batchedWrites): claims, transitions, creates and peeks arriving together. */
  private readonly batches: {
    claims: WriteBatches<ClaimNextSpec, ClaimNextOutcome>;
    transitions: WriteBatches<TransitionSpec, TransitionOutcome>;
    creates: WriteBatches<PlainCreate, CreateOutcome>;
    peeks: WriteBatches<KeyedPeek, PeekOutcome>;
  } | null;
  private createsGathered = 0;
  private peeksGathered = 0;

  constructor(db: Db) {
    super(db);
    this.statistics = plannerStatistics(db);
    this.batches = db.capabilities.batchedWrites
      ? {
          claims: new WriteBatches((specs) => this.claimTogether(specs), (spec) => this.claimAlone(spec)),
          transitions: new WriteBatches((specs) => this.transitionTogether(specs), (spec) => this.transitionAlone(spec)),
          creates: new WriteBatches((specs) => this.createTogether(specs), (spec) => this.insertTask(spec.input, spec.now)),
          peeks: new WriteBatches((peeks) => this.peekTogether(peeks), ({ spec }) => this.peekAlone(spec)),
        }
      : null;
  }

  /**
   * A write transaction whose body may record agents as seen (`markSeen`); a busy agent's last_seen is
   * written at most every LAST_SEEN_WINDOW_MS, and a write counts only once it has committed. Claims and
   * transitions: their statements run on their generic plans (TxOptions.genericPlans).
   */
  private async txRecordingLastSeen<T>(fn: (q: Queryable, markSeen: MarkSeen) => Promise<T | Unanswered<T>>): Promise<T> {
    const seen: Seen[] = [];
    const sent = await this.db.tx((q) => {
      seen.length = 0; // a body run again after a failed batch starts over
      return fn(q, (...agents) => {
        const due: Seen[] = [];
        for (const agent of agents) {
          const [id, name, now] = agent;
          if (this.lastSeen.due(id, name, now) && !seen.some(([s]) => s === id) && !due.some(([d]) => d === id)) due.push(agent);
        }
        seen.push(...due); // counted below, once the transaction committed
        return recordSeen(q, due);
      });
    }, { genericPlans: true });
    const result = await answered(sent);
    for (const [id, name, now] of seen) this.lastSeen.wrote(id, name, now);
    return result;
  }

  async peekAndHold(spec: PeekSpec): Promise<PeekOutcome> {
    if (!this.batches) return this.peekAlone(spec);
    // Each peek is a batch key of its own: an agent's second peek may run in the same transaction,
    // after its first, as it would after it alone.
    const key = `peek:${++this.peeksGathered}`;
    return this.batches.peeks.run(`peek ${spec.window}`, [key], { key, spec });
  }

  private async peekAlone(spec: PeekSpec): Promise<PeekOutcome> {
    return peekAndHold(this.db, spec, await this.controlsForPeeks(spec.now));
  }

  /** Peeks that arrived together: one transaction, one statement each (sql-peek-holds.ts). */
  private async peekTogether(peeks: KeyedPeek[]): Promise<Served<PeekOutcome>> {
    const controls = await this.controlsForPeeks(Math.max(...peeks.map(({ spec }) => spec.now)));
    const outcomes = await peeksInOneTransaction(this.db, peeks.map(({ spec }) => spec), controls);
    return new Map(peeks.map(({ key }, i) => [key, outcomes[i]!]));
  }

  /** What a peek at `now` walks under: the marks of delayed tasks come due cleared, and the controls in force. */
  private async controlsForPeeks(now: number): Promise<ClaimControls> {
    await this.dueMarks.cleared(now);
    return this.controlsInForce.inForce(this.db);
  }

  protected override controlsForReads(): Promise<ClaimControls> {
    return this.controlsInForce.inForce(this.db);
  }

  noteDelayed(at: number): void {
    this.dueMarks.note(at);
  }

  /** A write's outcome, its task noted if the write left it delayed (sql-due.ts), so walks clear its mark when its time comes. */
  private delayedNoted<T extends { ok: boolean; task?: Task | null }>(outcome: T, now: number): T {
    const task = outcome.ok ? outcome.task : null;
    if (task && task.status === 'pending' && task.runAfter > now) this.dueMarks.note(task.runAfter);
    return outcome;
  }

  async createTask(input: NewTask, now: number): Promise<CreateOutcome> {
    // Creates that need nothing read first (no idempotency key, dependency or Discord submitter) are batched where the backend batches writes.
    const plain = input.idempotencyKey === null && input.dependsOn.length === 0 && !input.discordUserId && !input.scheduleId;
    const result = this.batches && plain ? await this.createBatched(input, now) : await this.insertTask(input, now);
    if (result.ok && result.created) this.statistics.noteNewTasks(1);
    return this.delayedNoted(result, now);
  }

  private createBatched(input: NewTask, now: number): Promise<CreateOutcome> {
    const key = `create:${++this.createsGathered}`;
    return this.batches!.creates.run('create', [key], { input, now, key });
  }

  /** Creates of tasks that need nothing read first, in one transaction and one INSERT; their log rows in one more. */
  private async createTogether(specs: PlainCreate[]): Promise<Served<CreateOutcome>> {
    const sent = await this.db.tx(async (q) => {
      const rows = await q.all<TaskRow>(CREATE_TASK.rows(specs.length), specs.flatMap(({ input, now }) => CREATE_TASK.params(createdRow(input, now))));
      // One INSERT takes its ids in the order of its rows.
      const tasks = rows.map(rowToTask).sort((a, b) => a.id - b.id);
      const created = tasks.map((task, i) => ({ task, now: specs[i]!.now, entry: { action: 'created' as const, details: createdBy(specs[i]!.input) } }));
      return logThen(q, this.db.dialect, this.webhooksInForce, created, async () => {}, (events) => {
        const served: Served<CreateOutcome> = new Map();
        created.forEach(({ task }, i) => served.set(specs[i]!.key, { ok: true, task, created: true, events: [events[i]!] }));
        return served;
      });
    });
    return answered(sent);
  }

  private insertTask(input: NewTask, now: number): Promise<CreateOutcome> {
    return this.db.tx((q) => this.insertTaskIn(q, input, now));
  }

  /** The create's statements, in the caller's transaction (a schedule's run writes its run row in the same one). */
  protected async insertTaskIn(q: Queryable, input: NewTask, now: number): Promise<CreateOutcome> {
    const { idempotencyKey, discordUserId } = input;
    const replay = async (): Promise<CreateOutcome | null> => {
      const existing = await q.get<TaskRow>('SELECT * FROM tasks WHERE idempotency_key = ?', [idempotencyKey]);
      if (!existing) return null;
      const kept = existing.idempotency_request;
      const original = kept ? { ...(JSON.parse(String(kept)) as Omit<NewTask, 'idempotencyKey'>), idempotencyKey } : null;
      return { ok: true, task: rowToTask(existing), created: false, events: [], original };
    };
    // A replay answers with the task created the first time, whatever became of its dependencies.
    const earlier = idempotencyKey === null ? null : await replay();
    if (earlier) return earlier;
    if (input.dependsOn.length > 0) {
      const found = await lockGraph(q, this.db.dialect, input.dependsOn);
      const missing = input.dependsOn.filter((id) => !found.has(id));
      if (missing.length > 0) return { ok: false, reason: 'unknown_dependency', missing };
    }
    const row = await q.get<TaskRow>(CREATE_TASK.sql, CREATE_TASK.params(createdRow(input, now)));
    // Another create with the same key committed between the look-up and the insert.
    if (!row) return (await replay())!;
    const id = Number(row.id);
    // Who queued it from Discord decides who may change it there: written with the task, never after.
    if (discordUserId) {
      await q.run('INSERT INTO discord_submitters (task_id, user_id, created_at) VALUES (?, ?, ?)', [id, discordUserId, now]);
    }
    let task = rowToTask(row);
    const events = [await appendLog(q, id, { action: 'created', details: createdBy(input) }, now, task)];
    if (input.dependsOn.length > 0) {
      await dependenciesWritten(q, this.db.dialect, id, input.dependsOn);
      const blocked = await blockIfDependencyEnded(q, id, input.dependsOn, now);
      if (blocked) {
        task = blocked.task;
        events.push(blocked.event);
      }
    }
    return { ok: true, task, created: true, events };
  }

  protected override limitsKnown(): readonly LimitScope[] | null {
    return this.controlsInForce.limits();
  }

  claimNext(spec: ClaimNextSpec): Promise<ClaimNextOutcome> {
    const clearing = this.dueMarks.cleared(spec.now);
    return clearing ? clearing.then(() => this.claimWalking(spec)) : this.claimWalking(spec);
  }

  private claimWalking(spec: ClaimNextSpec): Promise<ClaimNextOutcome> {
    return this.batches ? this.batches.claims.run(claimKind(spec), [spec.instanceId], spec) : this.claimAlone(spec);
  }

  /** Claims of several agents asking alike, in one transaction and one claiming statement (sql-claim-batch.ts). */
  private claimTogether(specs: ClaimNextSpec[]): Promise<Served<ClaimNextOutcome>> {
    return this.txRecordingLastSeen((q, markSeen) => serveClaims(q, this.db.dialect, this.controlsInForce, this.webhooksInForce, markSeen, specs));
  }

  /** One agent's claim in a transaction of its own. */
  private claimAlone(spec: ClaimNextSpec): Promise<ClaimNextOutcome> {
    return this.txRecordingLastSeen(async (q, markSeen) => {
      // The count below must see the claim this instance committed just before (READ COMMITTED).
      const wipLocks = spec.wipLimit > 0 ? [LOCK_NAMES.wip(spec.instanceId)] : [];
      const change = taskChange(
        {
          status: 'in_progress', instanceId: spec.instanceId, instanceName: spec.instanceName, claimedAt: spec.now,
          leaseToken: spec.leaseToken, leaseExpiresAt: spec.leaseExpiresAt, leaseMs: spec.leaseExpiresAt - spec.now, question: null, answer: null,
        },
        spec.now,
        'start',
      );
      const { result: changed, controls: inForce } = await lockNamedThen(q, this.db.dialect, wipLocks, () =>
        this.controlsInForce.apply(q, async (inForce, guard) => {
          if (inForce.pauses.some((p) => p.kind === 'queue')) return null;
          const covered = await coveredLabelLists(q, this.db.dialect, spec.labels);
          if (covered?.length === 0) return null;
          await controls.lockLimits(q, this.db.dialect, inForce, spec.labels);
          const dialect = this.db.dialect;
          /** The first `limit` claimable tasks (their `columns`) in claiming order, walking the pending tasks `from` names. */
          const walk = (params: unknown[], w: { columns: string; from: string; labels: (params: unknown[]) => string; limit: number; lock: boolean }): string => {
            const ready = readyCondition(dialect, spec.now, params, spec.instanceId);
            const labelled = w.labels(params);
            const assigned = assigneeCondition(spec.instanceId, params);
            const projects = projectCondition(spec.projects, params);
            const allowed = controls.controlCondition(dialect, inForce, params);
            const current = guard(params);
            params.push(spec.instanceId, spec.wipLimit > 0 ? spec.wipLimit : 1_000_000_000);
            return `SELECT ${w.columns} FROM ${w.from}
                 WHERE ${WALKED} AND ${ready} AND ${labelled} AND ${assigned} AND ${projects} AND ${allowed} AND ${current}
                   AND (SELECT COUNT(*) FROM tasks w WHERE w.instance_id = ? AND w.status IN (${HELD_SQL})) < ?
                 ORDER BY t.priority_rank, t.id LIMIT ${w.limit} ${w.lock ? dialect.claimLock : ''}`;
          };
          const claim = (params: unknown[], chosen: string) => changeTask(q, `id = (${chosen}) AND status = 'pending'`, params, change);
          const rowLocks = dialect.claimLock !== '';
          const parts = await claimParts(q, dialect, inForce, spec.labels, spec.projects, covered);
          if (parts?.length === 0) return null;
          if (parts !== null) {
            // Its projects, or labels covering several lists: the first tasks of each part, from its
            // part of an index, then the first of those, instead of one walk of every pending task.
            const limit = rowLocks ? FIRST_OF_EACH_LIST : 1;
            const params: unknown[] = [];
            const firsts = firstAcrossLists(parts, limit, params, (slice, p) =>
              walk(p, { columns: 't.id, t.priority_rank', from: `tasks t ${dialect.indexedBy(slice.index)}`, labels: slice.where, limit, lock: false }),
            );
            // One writer at a time (SQLite): the first is the one to claim.
            if (!rowLocks) return (await claim(params, firsts)) ?? null;
            // Row locks (PostgreSQL): read without locking (a walk per list would lock a task in each),
            // then claim the first of those still free; should concurrent claims have taken them all
            // meanwhile, walk as below.
            const candidates = (await q.all<{ id: number }>(firsts, params)).map((r) => Number(r.id));
            if (candidates.length === 0) return null;
            const again: unknown[] = [];
            const picked = await claim(again, walk(again, {
              columns: 't.id', from: 'tasks t', limit: 1, lock: true,
              labels: (p) => `${labelCondition(dialect, spec.labels, p, covered)} AND ${idIn(candidates, p)}`,
            }));
            if (picked) return picked;
          }
          const params: unknown[] = [];
          const from = walkSource(dialect, spec.labels, covered);
          return (await claim(params, walk(params, { columns: 't.id', from, labels: (p) => labelCondition(dialect, spec.labels, p, covered), limit: 1, lock: true }))) ?? null;
        }),
      );
      if (!changed) {
        if (inForce.pauses.some((p) => p.kind === 'queue')) return { ok: false, reason: 'paused', held: 0 };
        const held = spec.wipLimit > 0 ? await this.heldCountIn(q, spec.instanceId) : 0;
        if (spec.wipLimit > 0 && held >= spec.wipLimit) return { ok: false, reason: 'wip_limit', held };
        await markSeen([spec.instanceId, spec.instanceName, spec.now]);
        return { ok: false, reason: 'empty', held };
      }
      const task = rowToTask(changed);
      const entry = { action: 'claimed' as const, details: `attempt ${task.attempts} of ${task.maxAttempts} by ${spec.instanceName ?? spec.instanceId}`, instanceId: spec.instanceId };
      return logThen(
        q, this.db.dialect, this.webhooksInForce, [{ task, entry, now: spec.now }],
        () => markSeen([spec.instanceId, spec.instanceName, spec.now]),
        (events): ClaimNextOutcome => ({ ok: true, task, events }),
      );
    });
  }

  async transition(spec: TransitionSpec): Promise<TransitionOutcome> {
    const kind = this.batches ? transitionKind(spec) : null;
    return this.delayedNoted(await (kind ? this.batches!.transitions.run(kind, transitionKeys(spec), spec) : this.transitionAlone(spec)), spec.now);
  }

  /**
   * For transitions asking for the next ready task (TransitionSpec.nextReady), read in their own
   * transaction: whom it is read for (SqlReads.readyAt). Null: none asks.
   */
  private async nextReadyFor(specs: readonly TransitionSpec[]): Promise<ReadyFor | null> {
    const asking = specs.filter((spec) => spec.nextReady);
    return asking.length === 0 ? null : this.readyAt(Math.max(...asking.map((spec) => spec.now)), null);
  }

  /** Transitions of one kind on different tasks, in one transaction and one UPDATE (sql-transition-batch.ts). */
  private async transitionTogether(specs: TransitionSpec[]): Promise<Served<TransitionOutcome>> {
    const ready = await this.nextReadyFor(specs);
    return this.txRecordingLastSeen((q, markSeen) => serveTransitions(q, this.db.dialect, this.controlsInForce, this.webhooksInForce, markSeen, specs, ready));
  }

  /** One transition in a transaction of its own. */
  private async transitionAlone(spec: TransitionSpec): Promise<TransitionOutcome> {
    const ready = await this.nextReadyFor([spec]);
    return this.txRecordingLastSeen(async (q, markSeen) => {
      // The holder acting on a task that changes hands (release, fail with retry) is recorded as
      // seen, so its id is read (and the row locked, on PostgreSQL) before the change.
      const changesHolder = spec.set.instanceId !== undefined && spec.holderSeen === true;
      const before = changesHolder
        ? await q.get<{ instance_id: string | null }>(`SELECT instance_id FROM tasks WHERE id = ? ${this.db.dialect.rowLock}`, [spec.taskId])
        : undefined;
      if (changesHolder && !before) return { ok: false, current: null };
      const wipLimit = spec.wipLimit && spec.wipLimit.max > 0 ? spec.wipLimit : undefined;

      const where = [`id = ?`, `status IN (${placeholders(spec.from.length)})`];
      const params: unknown[] = [spec.taskId, ...spec.from];
      if (spec.leaseToken !== undefined) {
        where.push('lease_token = ?');
        params.push(spec.leaseToken);
      }
      if (spec.instanceId !== undefined) {
        where.push('instance_id = ?');
        params.push(spec.instanceId);
      }
      if (spec.leaseExpiredBefore !== undefined) {
        where.push('lease_expires_at < ?');
        params.push(spec.leaseExpiredBefore);
      }
      if (spec.assignableTo !== undefined) {
        where.push(`(assignee IS NULL OR assignee = ?)`);
        params.push(spec.assignableTo);
      }
      if (wipLimit) {
        where.push(`(SELECT COUNT(*) FROM tasks w WHERE w.instance_id = ? AND w.status IN (${HELD_SQL})) < ?`);
        params.push(wipLimit.instanceId, wipLimit.max);
      }
      if (spec.reviewRequired !== undefined) {
        where.push('review_required = ?');
        params.push(spec.reviewRequired ? 1 : 0);
      }
      if (spec.attemptsAre !== undefined) {
        where.push('attempts = ?');
        params.push(spec.attemptsAre);
      }

      const change = taskChange(spec.set, spec.now, spec.attempt);
      const wipLocks = wipLimit ? [LOCK_NAMES.wip(wipLimit.instanceId)] : [];
      const { result: changed, controls: inForce } = await lockNamedThen(q, this.db.dialect, wipLocks, async () =>
        spec.claimable
          ? await this.controlsInForce.apply(q, async (inForce, guard) => {
              // The same conditions claimNext uses, applied to this one row (aliased as t).
              await controls.lockLimits(q, this.db.dialect, inForce, '*');
              const sub: unknown[] = [spec.taskId];
              const ready = readyCondition(this.db.dialect, spec.now, sub, spec.set.instanceId ?? null);
              const allowed = controls.controlCondition(this.db.dialect, inForce, sub);
              const current = guard(sub);
              const claimable = `id IN (SELECT t.id FROM tasks t WHERE t.id = ? AND ${ready} AND ${allowed} AND ${current})`;
              return (await changeTask(q, [...where, claimable].join(' AND '), [...params, ...sub], change)) ?? null;
            })
          : { result: (await changeTask(q, where.join(' AND '), params, change)) ?? null, controls: null },
      );
      if (!changed) {
        const current = await q.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [spec.taskId]);
        const heldByInstance = spec.wipLimit ? await this.heldCountIn(q, spec.wipLimit.instanceId) : undefined;
        const task = current ? rowToTask(current) : null;
        const heldBack = inForce && task?.status === 'pending' ? await controls.controlHolding(q, this.db.dialect, inForce, task) : null;
        return { ok: false, current: task, heldByInstance, ...(heldBack ? { heldBack } : {}) };
      }
      const task = rowToTask(changed);
      await afterTransition(q, this.db.dialect, spec, [changed]);
      const seen: Seen[] = [];
      if (spec.instance?.seen) seen.push([spec.instance.id, spec.instance.name ?? null, spec.now]);
      const previousHolder = before ? (before.instance_id as string | null) : task.instanceId;
      if (spec.holderSeen && previousHolder) seen.push([previousHolder, null, spec.now]);
      const entries = [{ task, entry: spec.log, now: spec.now }];
      if (!spec.cascade) {
        const next = await nextReadyAfter(q, this.db.dialect, ready);
        return logThen(
          q, this.db.dialect, this.webhooksInForce, entries, () => Promise.all([markSeen(...seen), next?.read]),
          (events): TransitionOutcome => ({ ok: true, task, events, ...(next ? { nextReadyId: next.id } : {}) }),
        );
      }
      // A cascade reads what the change freed or blocked: everything waits for its answer.
      const events = await appendTaskLogs(q, entries, this.webhooksInForce);
      await markSeen(...seen);
      events.push(...(await (spec.cascade === 'block' ? blockDependants : unblockDependants)(q, this.db.dialect, task.id, spec.now)));
      const next = await nextReadyAfter(q, this.db.dialect, ready);
      await next?.read;
      return { ok: true, task, events, ...(next ? { nextReadyId: next.id } : {}) };
    });
  }



  setPause(scope: PauseScope, by: string | null, reason: string | null, now: number): Promise<Pause> {
    return this.changingControls(() => controls.setPause(this.db, scope, by, reason, now));
  }

  removePause(scope: PauseScope): Promise<Pause | null> {
    return this.changingControls(() => controls.removePause(this.db, scope));
  }

  listPauses(): Promise<Pause[]> {
    return controls.listPauses(this.db);
  }

  setLimit(scope: LimitScope, max: number, by: string | null, now: number): Promise<ConcurrencyLimit> {
    return this.changingControls(() => controls.setLimit(this.db, scope, max, by, now));
  }

  removeLimit(scope: LimitScope): Promise<boolean> {
    return this.changingControls(() => controls.removeLimit(this.db, scope));
  }

  /** A change of pauses or limits; this store's next claim reads them first rather than finding its copy stale. */
  private async changingControls<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      this.controlsInForce.forget();
    }
  }

  listLimits(): Promise<ConcurrencyLimit[]> {
    return controls.listLimits(this.db);
  }

  createSchedule(schedule: NewSchedule, now: number): Promise<Schedule> {
    return schedules.insertSchedule(this.db, schedule, now);
  }

  getSchedule(id: number): Promise<Schedule | null> {
    return schedules.getSchedule(this.db, id);
  }

  listSchedules(): Promise<Schedule[]> {
    return schedules.listSchedules(this.db);
  }

  updateSchedule(id: number, changes: ScheduleChanges, now: number): Promise<Schedule | null> {
    return schedules.updateSchedule(this.db, id, changes, now);
  }

  deleteSchedule(id: number): Promise<boolean> {
    return schedules.deleteSchedule(this.db, id);
  }

  dueSchedules(now: number, limit: number): Promise<Schedule[]> {
    return schedules.dueSchedules(this.db, now, limit);
  }

  scheduleRuns(scheduleId: number, limit: number): Promise<ScheduleRun[]> {
    return schedules.scheduleRuns(this.db, scheduleId, limit);
  }

  async recordScheduleRun(spec: RecordRunSpec): Promise<RecordRunOutcome | { ok: false; reason: 'not_found' }> {
    const outcome = await this.db.tx(async (q): Promise<RecordRunOutcome | { ok: false; reason: 'not_found' }> => {
      if (spec.guard) {
        const { expectedNextRunAt, nextRunAt } = spec.guard;
        const moved = await schedules.advanceSchedule(q, spec.scheduleId, expectedNextRunAt, nextRunAt, spec.runAt, spec.now);
        if (!moved) return { ok: false, reason: 'stale' };
      } else if (!(await q.get(`SELECT id FROM schedules WHERE id = ? ${this.db.dialect.rowLock}`, [spec.scheduleId]))) {
        return { ok: false, reason: 'not_found' };
      }
      const first = spec.guard === null ? 'manual' : spec.task ? 'created' : 'missed';
      const run = await schedules.insertRun(q, spec.scheduleId, spec.runAt, first, spec.covers, spec.now);
      if (!run) return { ok: false, reason: 'stale' };
      if (!spec.task) return { ok: true, run, task: null, events: [] };
      if (!spec.overlap && spec.guard !== null && (await schedules.openTaskOf(q, spec.scheduleId)) !== null) {
        return { ok: true, run: await schedules.setRunTask(q, run, 'open', null), task: null, events: [] };
      }
      const created = await this.insertTaskIn(q, { ...spec.task, scheduleId: spec.scheduleId }, spec.now);
      if (!created.ok) throw new Error(`a schedule's task cannot have dependencies (${created.missing.join(', ')})`);
      if (spec.guard === null) await q.run('UPDATE schedules SET last_run_at = ? WHERE id = ?', [spec.runAt, spec.scheduleId]);
      return { ok: true, run: await schedules.setRunTask(q, run, first, created.task.id), task: created.task, events: created.events };
    });
    if (outcome.ok && outcome.task) this.statistics.noteNewTasks(1);
    return this.delayedNoted(outcome, spec.now);
  }

  addDependencies(taskId: number, dependsOn: number[], now: number): Promise<AddDependenciesOutcome> {
    return this.db.tx((q) => addDependencies(q, this.db.dialect, taskId, dependsOn, now));
  }

  async editTask(spec: TaskEditSpec): Promise<EditOutcome> {
    return this.delayedNoted(await this.db.tx((q) => edits.editTask(q, this.db.dialect, spec)), spec.now);
  }

  deleteTask(spec: DeleteSpec): Promise<DeleteOutcome> {
    return this.db.tx((q) => edits.deleteTask(q, this.db.dialect, spec));
  }

  addComment(comment: NewComment): Promise<CommentOutcome> {
    return this.db.tx((q) => edits.addComment(q, this.db.dialect, comment));
  }

  commentsOn(taskId: number): Promise<TaskComment[]> {
    return edits.commentsOn(this.db, taskId);
  }

  takeHolderNotice(task: Task): Promise<HolderNotice> {
    return this.db.tx((q) => edits.takeHolderNotice(q, task));
  }

  async setCursor(name: string, position: number, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO cursors (name, position, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
      [name, position, now],
    );
  }

  appendOutput(spec: AppendOutputSpec) {
    return output.appendOutput(this.db, spec);
  }

  readOutput(taskId: number, run: number, since: number, capBytes: number) {
    return output.readOutput(this.db, taskId, run, since, capBytes);
  }

  recordEvent(entry: LogEntry, now: number): Promise<TaskEvent> {
    return this.db.tx((q) => appendLog(q, null, entry, now, null));
  }

  async touchInstance(id: string, name: string | null, now: number): Promise<void> {
    if (!this.lastSeen.due(id, name, now)) return;
    await this.txRecordingLastSeen((q, markSeen) => markSeen([id, name, now]));
  }

  async markInstancesOffline(seenBefore: number): Promise<string[]> {
    const rows = await this.db.all<{ id: string }>(
      `UPDATE instances SET status = 'offline' WHERE status <> 'offline' AND last_seen < ? RETURNING id`,
      [seenBefore],
    );
    const ids = rows.map((r) => String(r.id));
    this.lastSeen.forget(ids);
    return ids;
  }

  retryFailed(filter: BulkFilter, now: number) {
    return bulk.retryFailed(this.db, filter, now);
  }

  cancelPending(filter: BulkFilter, now: number, by: string | null) {
    return bulk.cancelPending(this.db, filter, now, by);
  }

  purgeFinished(before: number, now: number) {
    return bulk.purgeFinished(this.db, before, now);
  }

  async importAll(data: ImportData, now: number) {
    const imported = await bulk.importAll(this.db, data, now);
    if (imported.ok) this.statistics.noteNewTasks(imported.tasks);
    // Its tasks' marks were read from their run_after (timeMarksRead): the next walk reads when they come due.
    if (imported.ok) this.dueMarks.forget();
    return imported;
  }
}
