// The Store over SQL shared by SQLite and PostgreSQL: writes (transitions, creates, bulk actions).
import { PRIORITY_RANK, HELD_STATUSES, type NewTask, type Task, type TaskEvent, type TaskStatus } from '../core/types.js';
import { placeholders, type Db, type Queryable } from './db.js';
import { SqlReads } from './sql-reads.js';
import { patchToSql, rowToTask, type TaskRow } from './rows.js';
import type {
  BulkFilter,
  ClaimNextOutcome,
  ClaimNextSpec,
  ExportData,
  LabelScope,
  LogEntry,
  Store,
  TransitionOutcome,
  TransitionSpec,
} from './store.js';

const HELD_SQL = HELD_STATUSES.map((s) => `'${s}'`).join(', ');
const rank = (p: Task['priority']): number => PRIORITY_RANK[p];
const IDEMPOTENCY_KEEP_MS = 24 * 60 * 60 * 1000;

/** WHERE fragment: the task's labels are all covered by the agent's labels. */
export function labelCondition(labels: LabelScope, params: unknown[]): string {
  if (labels === '*') return '1 = 1';
  if (labels.length === 0) return 'NOT EXISTS (SELECT 1 FROM task_labels l WHERE l.task_id = t.id)';
  params.push(...labels);
  return `NOT EXISTS (SELECT 1 FROM task_labels l WHERE l.task_id = t.id AND l.label NOT IN (${placeholders(labels.length)}))`;
}

/** WHERE fragment: due and every dependency completed. */
export function readyCondition(now: number, params: unknown[]): string {
  params.push(now);
  return `t.run_after <= ? AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks p ON p.id = d.depends_on WHERE d.task_id = t.id AND p.status <> 'completed')`;
}

export class SqlStore extends SqlReads implements Store {
  constructor(db: Db) {
    super(db);
  }

  private async appendLog(q: Queryable, taskId: number | null, entry: LogEntry, now: number, task: Task | null): Promise<TaskEvent> {
    const details = entry.details ?? null;
    const instanceId = entry.instanceId ?? null;
    const row = await q.get<{ id: number }>(
      'INSERT INTO task_logs (task_id, action, details, instance_id, timestamp, payload) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
      [taskId, entry.action, details, instanceId, now, task ? JSON.stringify(task) : null],
    );
    return { id: Number(row!.id), type: entry.action, taskId, task, instanceId, details, at: now };
  }

  /** Recomputes an instance's row from the tasks it holds; `seen` also records it as alive now. */
  private async refreshInstance(q: Queryable, id: string, name: string | null | undefined, seen: boolean, now: number): Promise<void> {
    if (seen) {
      await q.run(
        `INSERT INTO instances (id, name, last_seen, current_task_id, status) VALUES (?, ?, ?, NULL, 'idle')
         ON CONFLICT (id) DO UPDATE SET name = COALESCE(excluded.name, instances.name), last_seen = excluded.last_seen`,
        [id, name ?? null, now],
      );
    }
    await q.run(
      `UPDATE instances SET
         current_task_id = (SELECT MAX(t.id) FROM tasks t WHERE t.instance_id = ? AND t.status IN (${HELD_SQL})),
         status = CASE WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = ? AND t.status IN (${HELD_SQL})) THEN 'working'
                       WHEN status = 'offline' AND ? = 0 THEN 'offline' ELSE 'idle' END
       WHERE id = ?`,
      [id, id, seen ? 1 : 0, id],
    );
  }

  async createTask(input: NewTask, now: number): Promise<{ task: Task; created: boolean; events: TaskEvent[] }> {
    return this.db.tx(async (q) => {
      const row = await q.get<TaskRow>(
        `INSERT INTO tasks (description, status, priority, priority_rank, created_at, updated_at, notes, submitted_by,
                            project, labels, depends_on, max_attempts, run_after, idempotency_key)
         VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING *`,
        [
          input.description, input.priority, rank(input.priority), now, now, input.notes, input.submittedBy,
          input.project, JSON.stringify(input.labels), JSON.stringify(input.dependsOn), input.maxAttempts,
          input.runAfter, input.idempotencyKey,
        ],
      );
      if (!row) {
        const existing = await q.get<TaskRow>('SELECT * FROM tasks WHERE idempotency_key = ?', [input.idempotencyKey]);
        return { task: rowToTask(existing!), created: false, events: [] };
      }
      const id = Number(row.id);
      for (const label of input.labels) {
        await q.run('INSERT INTO task_labels (task_id, label) VALUES (?, ?)', [id, label]);
      }
      for (const dep of input.dependsOn) {
        await q.run('INSERT INTO task_deps (task_id, depends_on) VALUES (?, ?)', [id, dep]);
      }
      let task = rowToTask(row);
      const events = [await this.appendLog(q, id, { action: 'created', details: input.submittedBy ? `by ${input.submittedBy}` : null }, now, task)];
      if (input.dependsOn.length > 0) {
        const blocked = await this.blockIfDependencyEnded(q, id, now);
        if (blocked) {
          task = blocked.task;
          events.push(blocked.event);
        }
      }
      return { task, created: true, events };
    });
  }

  private async blockIfDependencyEnded(q: Queryable, id: number, now: number): Promise<{ task: Task; event: TaskEvent } | null> {
    const dead = await q.get<{ id: number; status: string }>(
      `SELECT p.id, p.status FROM task_deps d JOIN tasks p ON p.id = d.depends_on
       WHERE d.task_id = ? AND p.status IN ('failed', 'cancelled', 'blocked') ORDER BY p.id LIMIT 1`,
      [id],
    );
    if (!dead) return null;
    const reason = `dependency #${dead.id} is ${dead.status}`;
    const row = await q.get<TaskRow>(
      `UPDATE tasks SET status = 'blocked', blocked_reason = ?, updated_at = ? WHERE id = ? AND status = 'pending' RETURNING *`,
      [reason, now, id],
    );
    if (!row) return null;
    const task = rowToTask(row);
    return { task, event: await this.appendLog(q, id, { action: 'blocked', details: reason }, now, task) };
  }

  async claimNext(spec: ClaimNextSpec): Promise<ClaimNextOutcome> {
    return this.db.tx(async (q) => {
      const params: unknown[] = [spec.instanceId, spec.instanceName, spec.now, spec.leaseToken, spec.leaseExpiresAt, spec.now];
      const ready = readyCondition(spec.now, params);
      const labels = labelCondition(spec.labels, params);
      params.push(spec.instanceId, spec.wipLimit > 0 ? spec.wipLimit : 1_000_000_000);
      const row = await q.get<TaskRow>(
        `UPDATE tasks SET status = 'in_progress', instance_id = ?, instance_name = ?, claimed_at = ?, lease_token = ?,
                          lease_expires_at = ?, attempts = attempts + 1, updated_at = ?, question = NULL, answer = NULL
         WHERE id = (
           SELECT t.id FROM tasks t
           WHERE t.status = 'pending' AND ${ready} AND ${labels}
             AND (SELECT COUNT(*) FROM tasks w WHERE w.instance_id = ? AND w.status IN (${HELD_SQL})) < ?
           ORDER BY t.priority_rank, t.id LIMIT 1 ${this.db.dialect.claimLock}
         ) AND status = 'pending'
         RETURNING *`,
        params,
      );
      if (!row) {
        const held = spec.wipLimit > 0 ? await this.heldCountIn(q, spec.instanceId) : 0;
        if (spec.wipLimit > 0 && held >= spec.wipLimit) return { ok: false, reason: 'wip_limit', held };
        await this.refreshInstance(q, spec.instanceId, spec.instanceName, true, spec.now);
        return { ok: false, reason: 'empty', held };
      }
      const task = rowToTask(row);
      const event = await this.appendLog(
        q, task.id, { action: 'claimed', details: `attempt ${task.attempts} by ${spec.instanceName ?? spec.instanceId}`, instanceId: spec.instanceId }, spec.now, task,
      );
      // The claimer now holds this task: one upsert records it (no need to recount what it holds).
      await q.run(
        `INSERT INTO instances (id, name, last_seen, current_task_id, status) VALUES (?, ?, ?, ?, 'working')
         ON CONFLICT (id) DO UPDATE SET name = COALESCE(excluded.name, instances.name), last_seen = excluded.last_seen,
           current_task_id = excluded.current_task_id, status = 'working'`,
        [spec.instanceId, spec.instanceName, spec.now, task.id],
      );
      return { ok: true, task, events: [event] };
    });
  }

  async transition(spec: TransitionSpec): Promise<TransitionOutcome> {
    return this.db.tx(async (q) => {
      // Only a change of holder needs the previous holder, to refresh its instance row afterwards.
      const changesHolder = spec.set.instanceId !== undefined;
      const before = changesHolder
        ? await q.get<{ instance_id: string | null }>(`SELECT instance_id FROM tasks WHERE id = ? ${this.db.dialect.rowLock}`, [spec.taskId])
        : undefined;
      if (changesHolder && !before) return { ok: false, current: null };

      const { sql: setSql, params } = patchToSql(spec.set, rank);
      setSql.push('updated_at = ?');
      params.push(spec.now);
      if (spec.incrementAttempts) setSql.push('attempts = attempts + 1');

      const where = [`id = ?`, `status IN (${placeholders(spec.from.length)})`];
      params.push(spec.taskId, ...spec.from);
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
      if (spec.claimable) {
        // The same conditions claimNext uses, applied to this one row (aliased as t).
        where.push(`id IN (SELECT t.id FROM tasks t WHERE t.id = ? AND ${readyCondition(spec.now, [])})`);
        params.push(spec.taskId, spec.now);
      }
      if (spec.wipLimit && spec.wipLimit.max > 0) {
        where.push(`(SELECT COUNT(*) FROM tasks w WHERE w.instance_id = ? AND w.status IN (${HELD_SQL})) < ?`);
        params.push(spec.wipLimit.instanceId, spec.wipLimit.max);
      }

      const row = await q.get<TaskRow>(`UPDATE tasks SET ${setSql.join(', ')} WHERE ${where.join(' AND ')} RETURNING *`, params);
      if (!row) {
        const current = await q.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [spec.taskId]);
        const heldByInstance = spec.wipLimit ? await this.heldCountIn(q, spec.wipLimit.instanceId) : undefined;
        return { ok: false, current: current ? rowToTask(current) : null, heldByInstance };
      }
      const task = rowToTask(row);
      const events = [await this.appendLog(q, task.id, spec.log, spec.now, task)];

      const touched = new Set<string>();
      if (spec.instance) {
        await this.refreshInstance(q, spec.instance.id, spec.instance.name, spec.instance.seen, spec.now);
        touched.add(spec.instance.id);
      }
      const previousHolder = before ? before.instance_id : task.instanceId;
      for (const id of [previousHolder, task.instanceId]) {
        if (id && !touched.has(id)) {
          await this.refreshInstance(q, id, undefined, spec.holderSeen === true && id === previousHolder, spec.now);
          touched.add(id);
        }
      }
      if (spec.cascade === 'block') events.push(...(await this.blockDependants(q, task.id, spec.now)));
      if (spec.cascade === 'unblock') events.push(...(await this.unblockDependants(q, task.id, spec.now)));
      return { ok: true, task, events };
    });
  }

  /** Marks pending dependants (transitively) blocked after a task failed or was cancelled. */
  private async blockDependants(q: Queryable, rootId: number, now: number): Promise<TaskEvent[]> {
    const root = await q.get<{ status: string }>('SELECT status FROM tasks WHERE id = ?', [rootId]);
    const reason = `dependency #${rootId} is ${root?.status ?? 'gone'}`;
    const events: TaskEvent[] = [];
    let frontier = [rootId];
    while (frontier.length > 0) {
      const rows = await q.all<TaskRow>(
        `UPDATE tasks SET status = 'blocked', blocked_reason = ?, updated_at = ?
         WHERE status = 'pending' AND id IN (SELECT task_id FROM task_deps WHERE depends_on IN (${placeholders(frontier.length)}))
         RETURNING *`,
        [reason, now, ...frontier],
      );
      frontier = [];
      for (const row of rows) {
        const task = rowToTask(row);
        events.push(await this.appendLog(q, task.id, { action: 'blocked', details: reason }, now, task));
        frontier.push(task.id);
      }
    }
    return events;
  }

  /** After a retry, puts blocked dependants back to pending when nothing else blocks them. */
  private async unblockDependants(q: Queryable, rootId: number, now: number): Promise<TaskEvent[]> {
    const events: TaskEvent[] = [];
    let frontier = [rootId];
    while (frontier.length > 0) {
      const rows = await q.all<TaskRow>(
        `UPDATE tasks SET status = 'pending', blocked_reason = NULL, updated_at = ?
         WHERE status = 'blocked' AND id IN (SELECT task_id FROM task_deps WHERE depends_on IN (${placeholders(frontier.length)}))
           AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks p ON p.id = d.depends_on
                           WHERE d.task_id = tasks.id AND p.status IN ('failed', 'cancelled', 'blocked'))
         RETURNING *`,
        [now, ...frontier],
      );
      frontier = [];
      for (const row of rows) {
        const task = rowToTask(row);
        events.push(await this.appendLog(q, task.id, { action: 'unblocked', details: `dependency #${rootId} retried` }, now, task));
        frontier.push(task.id);
      }
    }
    return events;
  }

  async addDependencies(taskId: number, dependsOn: number[], now: number): Promise<{ task: Task; events: TaskEvent[] }> {
    return this.db.tx(async (q) => {
      const current = await q.get<TaskRow>(`SELECT * FROM tasks WHERE id = ? ${this.db.dialect.rowLock}`, [taskId]);
      const merged = [...new Set([...(rowToTask(current!).dependsOn), ...dependsOn])];
      for (const dep of dependsOn) {
        await q.run('INSERT INTO task_deps (task_id, depends_on) VALUES (?, ?) ON CONFLICT DO NOTHING', [taskId, dep]);
      }
      const row = await q.get<TaskRow>('UPDATE tasks SET depends_on = ?, updated_at = ? WHERE id = ? RETURNING *', [JSON.stringify(merged), now, taskId]);
      let task = rowToTask(row!);
      const events = [await this.appendLog(q, taskId, { action: 'dependencies', details: `now depends on ${merged.map((d) => `#${d}`).join(', ')}` }, now, task)];
      const blocked = await this.blockIfDependencyEnded(q, taskId, now);
      if (blocked) {
        task = blocked.task;
        events.push(blocked.event);
      }
      return { task, events };
    });
  }

  private async bulkUpdate(
    setSql: string,
    setParams: unknown[],
    status: TaskStatus,
    filter: BulkFilter,
    log: (task: Task) => LogEntry,
    now: number,
    after?: (q: Queryable, task: Task) => Promise<TaskEvent[]>,
  ): Promise<{ count: number; events: TaskEvent[] }> {
    return this.db.tx(async (q) => {
      const params: unknown[] = [...setParams, now, status];
      const where = this.filterSql(filter, params);
      const rows = await q.all<TaskRow>(
        `UPDATE tasks SET ${setSql}, updated_at = ? WHERE status = ? AND id IN (SELECT t.id FROM tasks t WHERE ${where}) RETURNING *`,
        params,
      );
      const events: TaskEvent[] = [];
      for (const row of rows.sort((a, b) => Number(a.id) - Number(b.id))) {
        const task = rowToTask(row);
        events.push(await this.appendLog(q, task.id, log(task), now, task));
        if (after) events.push(...(await after(q, task)));
      }
      return { count: rows.length, events };
    });
  }

  async retryFailed(filter: BulkFilter, now: number): Promise<{ count: number; events: TaskEvent[] }> {
    return this.bulkUpdate(
      `status = 'pending', attempts = 0, run_after = ?, instance_id = NULL, instance_name = NULL, lease_token = NULL, lease_expires_at = NULL, completed_at = NULL`,
      [now],
      'failed',
      filter,
      () => ({ action: 'retried', details: 'bulk retry of failed tasks' }),
      now,
      (q, task) => this.unblockDependants(q, task.id, now),
    );
  }

  async cancelPending(filter: BulkFilter, now: number, by: string | null): Promise<{ count: number; events: TaskEvent[] }> {
    return this.bulkUpdate(
      `status = 'cancelled', completed_at = ?`,
      [now],
      'pending',
      filter,
      () => ({ action: 'cancelled', details: by ? `bulk cancel by ${by}` : 'bulk cancel' }),
      now,
      (q, task) => this.blockDependants(q, task.id, now),
    );
  }

  async purgeFinished(before: number, now: number): Promise<{ count: number; events: TaskEvent[] }> {
    return this.db.tx(async (q) => {
      const ids = (
        await q.all<{ id: number }>(
          `SELECT id FROM tasks t WHERE t.status IN ('completed', 'cancelled') AND t.updated_at < ?
             AND (t.idempotency_key IS NULL OR t.created_at < ?)
             AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks c ON c.id = d.task_id
                             WHERE d.depends_on = t.id AND c.status NOT IN ('completed', 'cancelled'))`,
          // Idempotency keys are honoured for at least a day, so their tasks stay that long.
          [before, now - IDEMPOTENCY_KEEP_MS],
        )
      ).map((r) => Number(r.id));
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await q.run(`DELETE FROM task_logs WHERE task_id IN (${placeholders(chunk.length)})`, chunk);
        await q.run(`DELETE FROM tasks WHERE id IN (${placeholders(chunk.length)})`, chunk);
      }
      const event = await this.appendLog(q, null, { action: 'purged', details: `${ids.length} finished task(s) older than ${new Date(before).toISOString()}` }, now, null);
      return { count: ids.length, events: [event] };
    });
  }

  async setCursor(name: string, position: number, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO cursors (name, position, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
      [name, position, now],
    );
  }

  async touchInstance(id: string, name: string | null, now: number): Promise<void> {
    await this.db.tx((q) => this.refreshInstance(q, id, name, true, now));
  }

  async markInstancesOffline(seenBefore: number): Promise<string[]> {
    const rows = await this.db.all<{ id: string }>(
      `UPDATE instances SET status = 'offline' WHERE status <> 'offline' AND last_seen < ? RETURNING id`,
      [seenBefore],
    );
    return rows.map((r) => String(r.id));
  }

  async importAll(data: ExportData, now: number): Promise<{ tasks: number; logs: number }> {
    return this.db.tx(async (q) => {
      for (const t of data.tasks) {
        await q.run(
          `INSERT INTO tasks (id, description, status, priority, priority_rank, instance_id, instance_name, created_at, claimed_at,
             completed_at, notes, submitted_by, project, labels, depends_on, attempts, max_attempts, run_after, lease_token,
             lease_expires_at, result, error, question, answer, blocked_reason, idempotency_key, updated_at)
           VALUES (${placeholders(27)})`,
          [
            t.id, t.description, t.status, t.priority, rank(t.priority), t.instanceId, t.instanceName, t.createdAt, t.claimedAt,
            t.completedAt, t.notes, t.submittedBy, t.project, JSON.stringify(t.labels), JSON.stringify(t.dependsOn), t.attempts,
            t.maxAttempts, t.runAfter, t.leaseToken, t.leaseExpiresAt, t.result === null || t.result === undefined ? null : JSON.stringify(t.result),
            t.error, t.question, t.answer, t.blockedReason, t.idempotencyKey, t.updatedAt,
          ],
        );
      }
      for (const t of data.tasks) {
        for (const label of t.labels) await q.run('INSERT INTO task_labels (task_id, label) VALUES (?, ?)', [t.id, label]);
        for (const dep of t.dependsOn) await q.run('INSERT INTO task_deps (task_id, depends_on) VALUES (?, ?)', [t.id, dep]);
      }
      for (const log of data.logs) {
        await q.run('INSERT INTO task_logs (id, task_id, action, details, instance_id, timestamp) VALUES (?, ?, ?, ?, ?, ?)', [
          log.id, log.taskId, log.action, log.details, log.instanceId, log.timestamp,
        ]);
      }
      for (const inst of data.instances) {
        await q.run(
          `INSERT INTO instances (id, name, last_seen, current_task_id, status) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, last_seen = excluded.last_seen,
             current_task_id = excluded.current_task_id, status = excluded.status`,
          [inst.id, inst.name, inst.lastSeen, inst.currentTaskId, inst.status],
        );
      }
      const reset = this.db.dialect.resetSequence;
      if (reset) {
        await q.run(reset('tasks'));
        await q.run(reset('task_logs'));
      }
      await this.appendLog(q, null, { action: 'imported', details: `${data.tasks.length} task(s), ${data.logs.length} log row(s)` }, now, null);
      return { tasks: data.tasks.length, logs: data.logs.length };
    });
  }
}
