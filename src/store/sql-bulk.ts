// Actions on many tasks in one transaction (retry failed, cancel pending, purge) and import of an export.
import { PRIORITY_RANK, type Task, type TaskEvent, type TaskStatus } from '../core/types.js';
import { LOCK_NAMES, lockNamed, placeholders, type Db, type Queryable } from './db.js';
import { filterSql } from './sql-reads.js';
import { dependedOnBy } from './sql-lists.js';
import { appendLog, blockDependants, unblockDependants } from './sql-task-writes.js';
import { rowToTask, type TaskRow } from './rows.js';
import { NOT_KNOWN_WAITING, flagsFromGraph } from './sql-waiting.js';
import { NOT_DELAYED, timeMarksRead } from './sql-due.js';
import { priorityRank, taskInsert } from './task-columns.js';
import { TASK_FIELDS, withImportDefaults } from '../core/task-fields.js';
import type { BulkFilter, ExportedTask, ImportData, LogEntry } from '../core/ports.js';

const rank = (p: Task['priority']): number => PRIORITY_RANK[p];

/** An exported task goes back with every field it was exported with, and the derived rank. */
const IMPORT_TASK = taskInsert(TASK_FIELDS.map((f) => f.name));
const IDEMPOTENCY_KEEP_MS = 24 * 60 * 60 * 1000;

async function bulkUpdate(
  db: Db,
  setSql: string,
  setParams: unknown[],
  status: TaskStatus,
  filter: BulkFilter,
  log: (task: Task) => LogEntry,
  now: number,
  after?: (q: Queryable, task: Task) => Promise<TaskEvent[]>,
): Promise<{ count: number; events: TaskEvent[] }> {
  return db.tx(async (q) => {
    const params: unknown[] = [...setParams, now, status];
    const where = filterSql(db.dialect, filter, params);
    const rows = await q.all<TaskRow>(
      `UPDATE tasks SET ${setSql}, updated_at = ? WHERE status = ? AND id IN (SELECT t.id FROM tasks t WHERE ${where}) RETURNING *`,
      params,
    );
    const events: TaskEvent[] = [];
    for (const row of rows.sort((a, b) => Number(a.id) - Number(b.id))) {
      const task = rowToTask(row);
      events.push(await appendLog(q, task.id, log(task), now, task));
      if (after) events.push(...(await after(q, task)));
    }
    return { count: rows.length, events };
  });
}

export async function retryFailed(db: Db, filter: BulkFilter, now: number): Promise<{ count: number; events: TaskEvent[] }> {
  return bulkUpdate(
  db,
    `status = 'pending', attempts = 0, run_after = ?, instance_id = NULL, instance_name = NULL, lease_token = NULL, lease_expires_at = NULL, completed_at = NULL, ${NOT_KNOWN_WAITING}, ${NOT_DELAYED}`,
    [now],
    'failed',
    filter,
    () => ({ action: 'retried', details: 'bulk retry of failed tasks' }),
    now,
    (q, task) => unblockDependants(q, db.dialect, task.id, now),
  );
}

export async function cancelPending(db: Db, filter: BulkFilter, now: number, by: string | null): Promise<{ count: number; events: TaskEvent[] }> {
  return bulkUpdate(
  db,
    `status = 'cancelled', completed_at = ?`,
    [now],
    'pending',
    filter,
    () => ({ action: 'cancelled', details: by ? `bulk cancel by ${by}` : 'bulk cancel' }),
    now,
    (q, task) => blockDependants(q, db.dialect, task.id, now),
  );
}

export async function purgeFinished(db: Db, before: number, now: number): Promise<{ count: number; events: TaskEvent[] }> {
  return db.tx(async (q) => {
    // Deleting tasks writes the dependency graph: an edge being added to one of them must not be
    // deleted with it after the check below found no dependant (see sql-dependencies.ts).
    await lockNamed(q, db.dialect, LOCK_NAMES.dependencies);
    const ids = (
      await q.all<{ id: number }>(
        `SELECT id FROM tasks t WHERE t.status IN ('completed', 'cancelled') AND t.updated_at < ?
           AND (t.idempotency_key IS NULL OR t.created_at < ?)
           AND t.id NOT IN (${dependedOnBy(db.dialect, (c) => `${c}.status NOT IN ('completed', 'cancelled')`)})`,
        // Idempotency keys are honoured for at least a day, so their tasks stay that long.
        [before, now - IDEMPOTENCY_KEEP_MS],
      )
    ).map((r) => Number(r.id));
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await q.run(`DELETE FROM task_logs WHERE task_id IN (${placeholders(chunk.length)})`, chunk);
      await q.run(`DELETE FROM tasks WHERE id IN (${placeholders(chunk.length)})`, chunk);
    }
    const event = await appendLog(q, null, { action: 'purged', details: `${ids.length} finished task(s) older than ${new Date(before).toISOString()}` }, now, null);
    return { count: ids.length, events: [event] };
  });
}

export async function importAll(
  db: Db,
  data: ImportData,
  now: number,
): Promise<{ ok: true; tasks: number; logs: number; schedules: number } | { ok: false; total: number; schedules: number }> {
  return db.tx(async (q) => {
    // The queue must be empty (no task, no schedule), checked where the rows go in: no create and no other import between.
    if (db.dialect.tableLock) {
      await q.run(db.dialect.tableLock('tasks'));
      await q.run(db.dialect.tableLock('schedules'));
    }
    const existing = Number((await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM tasks'))?.n ?? 0);
    const schedules = Number((await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM schedules'))?.n ?? 0);
    if (existing > 0 || schedules > 0) return { ok: false as const, total: existing, schedules };
    for (const t of data.tasks) {
      // Older exports lack the fields added since; each declares what such a task gets.
      const task = withImportDefaults(t) as ExportedTask;
      // The dependency flags are read from the whole graph once every task is in (flagsFromGraph).
      await q.run(IMPORT_TASK.sql, IMPORT_TASK.params({ ...task, priorityRank: priorityRank(t.priority), waitingOnDependencies: 0, hasDependants: 0, waitingOnTime: 0 }));
    }
    for (const log of data.logs) {
      await q.run('INSERT INTO task_logs (id, task_id, action, details, instance_id, timestamp) VALUES (?, ?, ?, ?, ?, ?)', [
        log.id, log.taskId, log.action, log.details, log.instanceId, log.timestamp,
      ]);
    }
    for (const c of data.comments ?? []) {
      await q.run('INSERT INTO task_comments (id, task_id, author, body, source, discord_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        c.id, c.taskId, c.author, c.body, c.source, c.discordMessageId, c.createdAt,
      ]);
    }
    for (const inst of data.instances) {
      await q.run(
        `INSERT INTO instances (id, name, last_seen, status) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, last_seen = excluded.last_seen, status = excluded.status`,
        [inst.id, inst.name, inst.lastSeen, inst.status],
      );
    }
    for (const s of data.schedules ?? []) {
      await q.run(
        `INSERT INTO schedules (id, cron, time_zone, template, ends_at, missed, overlap, paused, next_run_at, last_run_at, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [s.id, s.cron, s.timeZone, JSON.stringify(s.template), s.endsAt, s.missed, s.overlap, s.paused, s.nextRunAt, s.lastRunAt, s.createdBy, s.createdAt, s.updatedAt],
      );
    }
    for (const r of data.scheduleRuns ?? []) {
      await q.run('INSERT INTO schedule_runs (id, schedule_id, run_at, outcome, task_id, covers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        r.id, r.scheduleId, r.runAt, r.outcome, r.taskId, r.covers, r.createdAt,
      ]);
    }
    await flagsFromGraph(q, db.dialect);
    await timeMarksRead(q, now);
    const reset = db.dialect.resetSequence;
    if (reset) {
      for (const table of ['tasks', 'task_logs', 'task_comments', 'schedules', 'schedule_runs']) await q.run(reset(table));
    }
    const scheduleCount = data.schedules?.length ?? 0;
    const what = `${data.tasks.length} task(s), ${data.logs.length} log row(s)${scheduleCount > 0 ? `, ${scheduleCount} schedule(s)` : ''}`;
    await appendLog(q, null, { action: 'imported', details: what }, now, null);
    return { ok: true as const, tasks: data.tasks.length, logs: data.logs.length, schedules: scheduleCount };
  });
}
