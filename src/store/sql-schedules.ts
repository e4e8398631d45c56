// Schedules and their runs over the shared SQL: rows, the due list, and the guarded write of one run.
import type { NewSchedule, RunOutcome, Schedule, ScheduleChanges, ScheduleRun, ScheduleTemplate, MissedPolicy } from '../core/schedule-types.js';
import type { Db, Queryable } from './db.js';

/** Statuses in which a schedule's task is still open: its next run waits unless the schedule allows overlap. */
export const OPEN_STATUSES_SQL = "'pending', 'in_progress', 'needs_input', 'in_review', 'blocked'";

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function rowToSchedule(row: Record<string, unknown>): Schedule {
  return {
    id: Number(row.id),
    cron: String(row.cron),
    timeZone: String(row.time_zone),
    template: JSON.parse(String(row.template)) as ScheduleTemplate,
    endsAt: numOrNull(row.ends_at),
    missed: String(row.missed) as MissedPolicy,
    overlap: Number(row.overlap) !== 0,
    paused: Number(row.paused) !== 0,
    nextRunAt: numOrNull(row.next_run_at),
    lastRunAt: numOrNull(row.last_run_at),
    createdBy: strOrNull(row.created_by),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function rowToRun(row: Record<string, unknown>): ScheduleRun {
  return {
    id: Number(row.id),
    scheduleId: Number(row.schedule_id),
    runAt: Number(row.run_at),
    outcome: String(row.outcome) as RunOutcome,
    taskId: numOrNull(row.task_id),
    covers: Number(row.covers),
    createdAt: Number(row.created_at),
  };
}

/** Domain names of the changeable fields and their columns (template as JSON text, flags as 0/1). */
const COLUMNS: Record<keyof ScheduleChanges, [string, (v: unknown) => unknown]> = {
  cron: ['cron', (v) => v],
  timeZone: ['time_zone', (v) => v],
  template: ['template', (v) => JSON.stringify(v)],
  endsAt: ['ends_at', (v) => v],
  missed: ['missed', (v) => v],
  overlap: ['overlap', (v) => (v ? 1 : 0)],
  paused: ['paused', (v) => (v ? 1 : 0)],
  nextRunAt: ['next_run_at', (v) => v],
};

export async function insertSchedule(db: Db, schedule: NewSchedule, now: number): Promise<Schedule> {
  const row = await db.get(
    `INSERT INTO schedules (cron, time_zone, template, ends_at, missed, overlap, paused, next_run_at, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    [schedule.cron, schedule.timeZone, JSON.stringify(schedule.template), schedule.endsAt, schedule.missed, schedule.overlap ? 1 : 0, schedule.paused ? 1 : 0, schedule.nextRunAt, schedule.createdBy, now, now],
  );
  return rowToSchedule(row!);
}

export async function getSchedule(q: Queryable, id: number): Promise<Schedule | null> {
  const row = await q.get('SELECT * FROM schedules WHERE id = ?', [id]);
  return row ? rowToSchedule(row) : null;
}

export async function listSchedules(db: Db): Promise<Schedule[]> {
  return (await db.all('SELECT * FROM schedules ORDER BY id')).map(rowToSchedule);
}

export async function updateSchedule(db: Db, id: number, changes: ScheduleChanges, now: number): Promise<Schedule | null> {
  const sets: string[] = ['updated_at = ?'];
  const params: unknown[] = [now];
  for (const [name, value] of Object.entries(changes) as Array<[keyof ScheduleChanges, unknown]>) {
    if (value === undefined) continue;
    const [column, stored] = COLUMNS[name];
    sets.push(`${column} = ?`);
    params.push(stored(value));
  }
  const row = await db.get(`UPDATE schedules SET ${sets.join(', ')} WHERE id = ? RETURNING *`, [...params, id]);
  return row ? rowToSchedule(row) : null;
}

export async function deleteSchedule(db: Db, id: number): Promise<boolean> {
  return db.tx(async (q) => {
    await q.run('DELETE FROM schedule_runs WHERE schedule_id = ?', [id]);
    return (await q.run('DELETE FROM schedules WHERE id = ?', [id])) > 0;
  });
}

/** Unpaused schedules whose next occurrence is due, earliest first. */
export async function dueSchedules(db: Db, now: number, limit: number): Promise<Schedule[]> {
  const rows = await db.all('SELECT * FROM schedules WHERE paused = 0 AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at, id LIMIT ?', [now, limit]);
  return rows.map(rowToSchedule);
}

export async function scheduleRuns(db: Db, scheduleId: number, limit: number): Promise<ScheduleRun[]> {
  const rows = await db.all('SELECT * FROM schedule_runs WHERE schedule_id = ? ORDER BY run_at DESC, id DESC LIMIT ?', [scheduleId, limit]);
  return rows.map(rowToRun);
}

/**
 * Moves next_run_at from the value the plan was made from to the next one; 0 rows when another
 * replica moved it first (or the schedule was paused or deleted). On PostgreSQL the update takes the
 * schedule's row lock, so a second leader's update waits, then finds next_run_at moved.
 */
export async function advanceSchedule(q: Queryable, id: number, expected: number, next: number | null, lastRunAt: number | null, now: number): Promise<boolean> {
  return (
    (await q.run(
      'UPDATE schedules SET next_run_at = ?, last_run_at = COALESCE(?, last_run_at), updated_at = ? WHERE id = ? AND next_run_at = ? AND paused = 0',
      [next, lastRunAt, now, id, expected],
    )) > 0
  );
}

/** Inserts a run row; null when (schedule_id, run_at) already has one (the database's guard against a second leader). */
export async function insertRun(q: Queryable, scheduleId: number, runAt: number, outcome: RunOutcome, covers: number, now: number): Promise<ScheduleRun | null> {
  const row = await q.get(
    `INSERT INTO schedule_runs (schedule_id, run_at, outcome, covers, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (schedule_id, run_at) DO NOTHING RETURNING *`,
    [scheduleId, runAt, outcome, covers, now],
  );
  return row ? rowToRun(row) : null;
}

export async function setRunTask(q: Queryable, run: ScheduleRun, outcome: RunOutcome, taskId: number | null): Promise<ScheduleRun> {
  await q.run('UPDATE schedule_runs SET outcome = ?, task_id = ? WHERE id = ?', [outcome, taskId, run.id]);
  return { ...run, outcome, taskId };
}

/** The schedule's task still open, if any (what a run without overlap waits for). */
export async function openTaskOf(q: Queryable, scheduleId: number): Promise<number | null> {
  const row = await q.get<{ id: unknown }>(`SELECT id FROM tasks WHERE schedule_id = ? AND status IN (${OPEN_STATUSES_SQL}) ORDER BY id LIMIT 1`, [scheduleId]);
  return row ? Number(row.id) : null;
}
