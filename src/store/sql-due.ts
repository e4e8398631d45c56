// Readiness by time, kept in the row (migration waiting_on_time). A pending task with
// waiting_on_time = 1 is known to be delayed (its run_after was later than the moment the mark was
// written) and is left out of the indexes every claim walks (tasks_ready, tasks_pending_labels,
// tasks_pending_projects), so delayed tasks ahead of ready ones are not walked one by one on every
// claim. The mark only narrows the walk: a claim still checks run_after (readyCondition). So a 0
// where 1 would be true costs a walked row, and is what a return to pending writes when it cannot
// tell; a 1 on a task now due would keep it from being claimed. Time makes a mark stale without any
// write, so before a walk reads its index the marks come due are cleared, in a transaction of their
// own (DueMarks): each process keeps the earliest moment a mark it knows of comes due, from what it
// writes and reads, and clears when a walk's time reaches it. Marks other processes write (replicas
// on one PostgreSQL) are learned from the events of their writes the cross-replica feed reads
// (Store.noteDelayed) and from the waiters' reads of the next moment a task comes due (nextRunAfter,
// cameDue); past that (a feed behind or down), each process clears at least every RECHECK_MS while
// it walks, and at once when its clock was set back.
import type { Db, Dialect, Queryable } from './db.js';

/** SET item: the task's mark from its run_after (an SQL expression: the value the row has after the write) at `now`. */
export const timeMark = (runAfter: string, now: string): string => `waiting_on_time = CASE WHEN ${runAfter} > ${now} THEN 1 ELSE 0 END`;

/** A time given as a parameter, typed (PostgreSQL would compare two untyped parameters as text). */
export const TIME_PARAM = 'CAST(? AS BIGINT)';

/** SET item of a write that leaves the task due (or not pending): no mark. */
export const NOT_DELAYED = 'waiting_on_time = 0';

/**
 * The marks come due at a moment (one parameter), cleared; and the earliest moment a mark left comes
 * due. Both read the index of marked tasks, named for SQLite, whose planner would take an index by
 * status and read every pending task.
 */
export const clearDueSql = (d: Dialect): string => `UPDATE tasks ${d.indexedBy('tasks_not_yet_due')} SET waiting_on_time = 0 WHERE status = 'pending' AND waiting_on_time = 1 AND run_after <= ?`;
export const nextDueSql = (d: Dialect): string => `SELECT MIN(run_after) AS at FROM tasks ${d.indexedBy('tasks_not_yet_due')} WHERE status = 'pending' AND waiting_on_time = 1`;

/**
 * How long a process trusts that no mark it does not know of has come due: the most a task delayed
 * through another process may stay unseen by this one's walks after its time (when no waiter here
 * asked when the next task comes due).
 */
export const RECHECK_MS = 1_000;

/**
 * The marks of one process's store: when a walk at `now` must first clear the marks come due
 * (cleared), and what it learns of marks written (note). One clearing runs at a time; walks asking
 * meanwhile wait for it.
 */
export class DueMarks {
  /** No mark this process knows of comes due before this moment; -Infinity: not read yet. */
  private dueAt = Number.NEGATIVE_INFINITY;
  private clearing: Promise<void> | null = null;
  /** Moments noted while a clearing ran: its read may have missed their marks. */
  private notedDuring = Number.POSITIVE_INFINITY;
  /** The time of the last clearing: a walk's time more than RECHECK_MS before it (the clock set back) clears again. */
  private clearedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly db: Db) {}

  /** A task may be marked until `at` (written or read pending with that run_after): a walk at `at` or later clears first. */
  note(at: number): void {
    if (at < this.dueAt) this.dueAt = at;
    if (this.clearing && at < this.notedDuring) this.notedDuring = at;
  }

  /** Marks may have been written without this process seeing their times (an import): read them again. */
  forget(): void {
    this.note(Number.NEGATIVE_INFINITY);
  }

  /** Null when no mark due at `now` is known (nothing to wait for, no await); else the clearing to wait for. */
  cleared(now: number): Promise<void> | null {
    return now < this.dueAt && !this.setBack(now) ? null : this.clearUntil(now);
  }

  /** Walks' times may arrive a little out of order; one more than RECHECK_MS before the last clearing's means the clock was set back. */
  private setBack(now: number): boolean {
    return now < this.clearedAt - RECHECK_MS;
  }

  private async clearUntil(now: number): Promise<void> {
    while (now >= this.dueAt || this.setBack(now)) {
      this.clearing ??= this.clear(now).finally(() => {
        this.clearing = null;
      });
      await this.clearing;
    }
  }

  private async clear(now: number): Promise<void> {
    this.notedDuring = Number.POSITIVE_INFINITY;
    // Not waiting for the disk: a clearing lost in a crash is made again by the first walk after it (or within RECHECK_MS).
    const next = await this.db.tx(
      async (q) => {
        await q.run(clearDueSql(this.db.dialect), [now]);
        return (await q.get<{ at: number | null }>(nextDueSql(this.db.dialect)))?.at ?? null;
      },
      { durable: false },
    );
    this.dueAt = Math.min(next === null ? Number.POSITIVE_INFINITY : Number(next), now + RECHECK_MS, this.notedDuring);
    this.clearedAt = now;
  }
}

/** Every pending task's mark read from its run_after at `now`: after an import, in its transaction (DueMarks.forget after). */
export async function timeMarksRead(q: Queryable, now: number): Promise<void> {
  await q.run(`UPDATE tasks SET ${timeMark('run_after', TIME_PARAM)} WHERE status = 'pending'`, [now]);
}
