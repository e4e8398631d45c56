// The Store's read side over SQL shared by SQLite and PostgreSQL.
import { TASK_STATUSES, type Instance, type Stats, type Task, type TaskEvent, type TaskFilter, type TaskLog, type TaskPage, type TaskStatus } from '../core/types.js';
import { LIMITS } from '../core/limits.js';
import { placeholders, type Db, type Dialect, type Queryable } from './db.js';
import { HELD_SQL } from './sql-conditions.js';
import { readyIdsIn, type ReadyFor } from './sql-held-back.js';
import { dependsOnAnyOf, hasLabel, pendingWithDependencies, someDependency } from './sql-lists.js';
import { DueMarks } from './sql-due.js';
import { rowToComment, rowToExportedTask, rowToInstance, rowToLog, rowToTask, type TaskRow } from './rows.js';
import type { ActivityCounted, BulkFilter, ExportData, Freed } from '../core/ports.js';
import type { ClaimControls, LimitScope } from '../core/queue-controls-types.js';
import { readActivity } from './sql-activity.js';
import { rowToRun, rowToSchedule } from './sql-schedules.js';
import { EVENT_SELECT, rowToEvent } from './event-payload.js';
import { ReadsPerTurn } from './reads-per-turn.js';

/** Escapes LIKE wildcards so a search for "100%" matches the text literally. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The earliest future moment a pending task becomes claimable by more agents (two parameters: now,
 * now): its run_after, or the end of the time it is kept for one agent after a review asked for
 * changes (preferred_until). Read from the partial indexes of delayed tasks (tasks_delayed:
 * `run_after > 0` names it) and of kept tasks (tasks_preferred_pending) instead of every pending task.
 */
export const nextRunAfterSql = (dialect: Dialect): string =>
  `SELECT MIN(at) AS at FROM (
     SELECT MIN(run_after) AS at FROM tasks ${dialect.indexedBy('tasks_delayed')} WHERE status = 'pending' AND run_after > 0 AND run_after > ?
     UNION ALL
     SELECT MIN(preferred_until) AS at FROM tasks ${dialect.indexedBy('tasks_preferred_pending')}
     WHERE status = 'pending' AND preferred_instance_id IS NOT NULL AND preferred_until > ?
   ) soonest`;

/** WHERE fragment over alias t for the filters bulk actions and lists share. */
export function filterSql(dialect: Dialect, filter: BulkFilter & { assignee?: string }, params: unknown[]): string {
  const where = ['1 = 1'];
  if (filter.label) {
    where.push(hasLabel(dialect, 't'));
    params.push(filter.label);
  }
  if (filter.project) {
    where.push('t.project = ?');
    params.push(filter.project);
  }
  if (filter.assignee) {
    where.push('t.assignee = ?');
    params.push(filter.assignee);
  }
  if (filter.priority) {
    where.push('t.priority = ?');
    params.push(filter.priority);
  }
  if (filter.instanceId) {
    where.push('t.instance_id = ?');
    params.push(filter.instanceId);
  }
  if (filter.search) {
    where.push(`t.description ${dialect.ilike} ? ESCAPE '\\'`);
    params.push(likePattern(filter.search));
  }
  return where.join(' AND ');
}

export class SqlReads {
  private readonly readyReads = new ReadsPerTurn<number[]>();
  /** When the walks must first clear the marks of delayed tasks come due (sql-due.ts). */
  protected readonly dueMarks: DueMarks;

  constructor(protected readonly db: Db) {
    this.dueMarks = new DueMarks(db);
  }

  async getTask(id: number) {
    const row = await this.db.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [id]);
    return row ? rowToTask(row) : null;
  }

  async getTaskWithLease(id: number) {
    const row = await this.db.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [id]);
    return row ? { task: rowToTask(row), leaseToken: (row.lease_token as string | null) ?? null } : null;
  }

  /** Asked together in one turn (the same limit and instance), answered by one statement. */
  readyIds(now: number, limit: number, instanceId?: string | null): Promise<number[]> {
    return this.readyReads.get(`${limit} ${instanceId ?? ''}`, now, (at) => this.readReadyIds(at, limit, instanceId ?? null));
  }

  private async readReadyIds(now: number, limit: number, instanceId: string | null): Promise<number[]> {
    return readyIdsIn(this.db, this.db.dialect, await this.readyAt(now, instanceId), limit);
  }

  /**
   * Whom the ready tasks at `now` are read for: the marks of delayed tasks come due cleared first (in
   * a transaction of their own, as before any walk), and what the controls hold back is not walked
   * (sql-held-back.ts), as by a claim.
   */
  protected async readyAt(now: number, instanceId: string | null): Promise<ReadyFor> {
    await this.dueMarks.cleared(now);
    return { now, instanceId, controls: await this.controlsForReads() };
  }

  async logsFor(taskId: number): Promise<TaskLog[]> {
    const rows = await this.db.all<TaskRow>('SELECT * FROM task_logs WHERE task_id = ? ORDER BY id', [taskId]);
    return rows.map(rowToLog);
  }

  async listTasks(filter: TaskFilter): Promise<TaskPage> {
    const params: unknown[] = [];
    const where = [filterSql(this.db.dialect, filter, params)];
    if (filter.status && filter.status.length > 0) {
      // One state as `=`: SQLite then walks the (status, priority_rank, id) index in order instead of
      // sorting every matching row, which made each peek at the queue cost O(pending).
      where.push(filter.status.length === 1 ? 't.status = ?' : `t.status IN (${placeholders(filter.status.length)})`);
      params.push(...filter.status);
    }
    const limit = Math.min(filter.limit ?? LIMITS.listLimitDefault, LIMITS.listLimitMax);
    const queueOrder = filter.order === 'queue';
    if (filter.cursor) {
      if (queueOrder) {
        const [r, i] = filter.cursor.split('.').map(Number);
        where.push('(t.priority_rank > ? OR (t.priority_rank = ? AND t.id > ?))');
        params.push(r, r, i);
      } else {
        where.push('t.id < ?');
        params.push(Number(filter.cursor));
      }
    }
    params.push(limit + 1);
    const rows = await this.db.all<TaskRow>(
      `SELECT t.* FROM tasks t WHERE ${where.join(' AND ')} ORDER BY ${queueOrder ? 't.priority_rank, t.id' : 't.id DESC'} LIMIT ?`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last ? (queueOrder ? `${last.priority_rank}.${last.id}` : String(last.id)) : null;
    return { tasks: page.map(rowToTask), nextCursor };
  }

  async stats(): Promise<Stats> {
    const rows = await this.db.all<{ status: TaskStatus; n: number }>('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status');
    const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    let total = 0;
    for (const row of rows) {
      byStatus[row.status] = Number(row.n);
      total += Number(row.n);
    }
    const oldest = await this.db.get<{ at: number | null }>(`SELECT MIN(created_at) AS at FROM tasks WHERE status = 'pending'`);
    return {
      byStatus,
      total,
      oldestPendingAt: oldest?.at === null || oldest?.at === undefined ? null : Number(oldest.at),
      instances: await this.listInstances(),
    };
  }

  async listInstances(): Promise<Instance[]> {
    // What an agent holds comes from its tasks; the row keeps its name, last sighting and offline mark.
    const rows = await this.db.all<TaskRow>(
      `SELECT i.id, i.name, i.last_seen, i.status,
              (SELECT MAX(t.id) FROM tasks t WHERE t.instance_id = i.id AND t.status IN (${HELD_SQL})) AS current_task_id
       FROM instances i ORDER BY i.last_seen DESC, i.id`,
    );
    return rows.map(rowToInstance);
  }

  async instanceKnown(id: string): Promise<boolean> {
    return Boolean(await this.db.get('SELECT 1 AS known FROM instances WHERE id = ?', [id]));
  }

  protected async heldCountIn(q: Queryable, instanceId: string): Promise<number> {
    const row = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks WHERE instance_id = ? AND status IN (${HELD_SQL})`, [instanceId]);
    return Number(row?.n ?? 0);
  }

  async expiredLeases(now: number, limit: number) {
    const rows = await this.db.all<TaskRow>(
      `SELECT id, lease_token, attempts, max_attempts, lease_ms FROM tasks WHERE status = 'in_progress' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?`,
      [now, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      leaseToken: String(r.lease_token),
      attempts: Number(r.attempts),
      maxAttempts: Number(r.max_attempts),
      leaseMs: r.lease_ms === null || r.lease_ms === undefined ? null : Number(r.lease_ms),
    }));
  }

  async spentTasks(limit: number) {
    const rows = await this.db.all<TaskRow>(
      `SELECT id, attempts, max_attempts FROM tasks WHERE status = 'pending' AND attempts >= max_attempts ORDER BY id LIMIT ?`,
      [limit],
    );
    return rows.map((r) => ({ id: Number(r.id), attempts: Number(r.attempts), maxAttempts: Number(r.max_attempts) }));
  }

  async nextRunAfter(now: number): Promise<number | null> {
    const row = await this.db.get<{ at: number | null }>(nextRunAfterSql(this.db.dialect), [now, now]);
    const at = row?.at === null || row?.at === undefined ? null : Number(row.at);
    // A task delayed until then, through any process: the walks at that time clear its mark first.
    if (at !== null) this.dueMarks.note(at);
    return at;
  }

  async freedBy(tasks: ReadonlyArray<Pick<Task, 'id' | 'status' | 'labels' | 'project'>>, limit: number, options: { dependants?: boolean } = {}): Promise<Freed> {
    const dialect = this.db.dialect;
    const withDependencies = pendingWithDependencies(dialect);
    // Their dependants that wait on nothing now, read through the index of tasks with dependencies;
    // a text test first, which spares the JSON of tasks that depend on others.
    const completed = options.dependants === false ? [] : tasks.filter((task) => task.status === 'completed').map((task) => task.id);
    const params: unknown[] = [];
    const dependants =
      completed.length > 0
        ? await this.db.all<TaskRow>(
            `SELECT t.* FROM ${withDependencies} AND ${dependsOnAnyOf(dialect, 't', completed, params)}
               AND NOT ${someDependency(dialect, 't', (p) => `${p}.status <> 'completed'`)}
             ORDER BY t.priority_rank, t.id LIMIT ?`,
            [...params, limit],
          )
        : [];
    // Read only where dependants were: else not known, so true.
    const anyWaiting = dependants.length > 0 || completed.length === 0 || (await this.db.get(`SELECT 1 AS one FROM ${withDependencies} LIMIT 1`)) !== undefined;
    return { dependants: dependants.map(rowToTask), limited: await this.countedByLimit(tasks), anyWaiting };
  }

  /** Whether a concurrency limit counts one of these tasks (by a label or its project): its end frees a place under it. */
  private async countedByLimit(tasks: ReadonlyArray<Pick<Task, 'labels' | 'project'>>): Promise<boolean> {
    const labels = [...new Set(tasks.flatMap((task) => task.labels))];
    const projects = [...new Set(tasks.flatMap((task) => (task.project === null ? [] : [task.project])))];
    if (labels.length === 0 && projects.length === 0) return false;
    const known = this.limitsKnown();
    if (known) return known.some((l) => (l.kind === 'label' ? labels : projects).includes(l.value));
    const scopes = [
      ...(labels.length > 0 ? [`(kind = 'label' AND value IN (${placeholders(labels.length)}))`] : []),
      ...(projects.length > 0 ? [`(kind = 'project' AND value IN (${placeholders(projects.length)}))`] : []),
    ];
    return (await this.db.get(`SELECT 1 AS one FROM concurrency_limits WHERE ${scopes.join(' OR ')}`, [...labels, ...projects])) !== undefined;
  }

  /**
   * The concurrency limits in force as this process last read them for its claims, or null when it
   * has not (SqlStore keeps them; a claim reads them again when they changed, and a change wakes every
   * long-poll waiter, whose claims do).
   */
  protected limitsKnown(): readonly LimitScope[] | null {
    return null;
  }

  /** The pauses and limits the tasks shown as ready must be free of (SqlStore keeps them); null: none applied. */
  protected controlsForReads(): Promise<ClaimControls | null> {
    return Promise.resolve(null);
  }

  async cameDue(from: number, to: number, limit: number): Promise<Task[]> {
    const { indexedBy } = this.db.dialect;
    const rows = await this.db.all<TaskRow>(
      `SELECT t.* FROM tasks t WHERE t.id IN (
         SELECT id FROM tasks ${indexedBy('tasks_delayed')} WHERE status = 'pending' AND run_after > 0 AND run_after >= ? AND run_after <= ?
         UNION
         SELECT id FROM tasks ${indexedBy('tasks_preferred_pending')}
         WHERE status = 'pending' AND preferred_instance_id IS NOT NULL AND preferred_until >= ? AND preferred_until <= ?)
       ORDER BY t.priority_rank, t.id LIMIT ?`,
      [from, to, from, to, limit],
    );
    // Tasks come due, maybe marked by another process: the waiters' claims for them clear first.
    if (rows.length > 0) this.dueMarks.note(from);
    return rows.map(rowToTask);
  }

  async countPurgeable(before: number): Promise<number> {
    const row = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks WHERE status IN ('completed', 'cancelled') AND updated_at < ?`, [before]);
    return Number(row?.n ?? 0);
  }

  activity(from: number, to: number, counted: readonly ActivityCounted[], slowestLimit: number) {
    return readActivity(this.db, from, to, counted, slowestLimit);
  }

  async eventsSince(afterId: number, limit: number): Promise<TaskEvent[]> {
    const rows = await this.db.all<TaskRow>(`${EVENT_SELECT} WHERE l.id > ? ORDER BY l.id LIMIT ?`, [afterId, limit]);
    return rows.map(rowToEvent);
  }

  async lastEventId(): Promise<number> {
    const row = await this.db.get<{ id: number | null }>('SELECT MAX(id) AS id FROM task_logs');
    return Number(row?.id ?? 0);
  }

  async getCursor(name: string): Promise<number | null> {
    const row = await this.db.get<{ position: number }>('SELECT position FROM cursors WHERE name = ?', [name]);
    return row ? Number(row.position) : null;
  }

  async exportAll(): Promise<ExportData> {
    const tasks = await this.db.all<TaskRow>('SELECT * FROM tasks ORDER BY id');
    const logs = await this.db.all<TaskRow>('SELECT * FROM task_logs ORDER BY id');
    return {
      version: 1,
      exportedAt: new Date().toISOString(),
      tasks: tasks.map(rowToExportedTask),
      logs: logs.map(rowToLog),
      comments: (await this.db.all<TaskRow>('SELECT * FROM task_comments ORDER BY id')).map(rowToComment),
      instances: await this.listInstances(),
      schedules: (await this.db.all<TaskRow>('SELECT * FROM schedules ORDER BY id')).map(rowToSchedule),
      scheduleRuns: (await this.db.all<TaskRow>('SELECT * FROM schedule_runs ORDER BY id')).map(rowToRun),
    };
  }

  ping(): Promise<void> {
    return this.db.ping();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
