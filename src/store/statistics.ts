// Keeps the planner's statistics of the queue tables fresh where the backend has them (PostgreSQL).
// Autovacuum analyzes a table only after a tenth of it changed, and a minute or more later; until
// then the planner believes a queue that grew from ten to ten thousand pending tasks still holds ten,
// and a claim reads every pending task its labels might match instead of walking the queue's index
// (measured 2026-12-04: with 10,000 labelled tasks created after the last ANALYZE, claims took 1.7-2x
// as long; in 2026-11, before the queue's partial indexes, 12-23 ms instead of 0.06-0.1 ms).
//
// What makes them stale is new pending tasks, not changes as such: the lease cycle's updates only
// take pending tasks away, and statistics that count too many pending tasks keep the planner on the
// index walk, which is cheap for few. So the refresh follows the tasks inserted since the last one,
// against how many were pending then, whatever the table's size. A queue with 200,000 finished tasks
// and a burst of 10,000 new ones is refreshed (by a tenth of the table, autovacuum's rule and this
// module's until 2026-12-04, it never was), and a busy queue whose pending tasks only come and go is
// not re-analyzed every few seconds. A burst of 40,000 creates over HTTP now runs 11 ANALYZEs, not 31
// (bench --only=planner-stats).
import type { Db } from './db.js';

/** New tasks that make the statistics stale: at least this many, and this share of the tasks pending at the last refresh. */
const MIN_NEW = 500;
const NEW_SHARE = 0.5;

export type PlannerStatistics = {
  /** Counts tasks this process created; refreshes in the background once enough arrived. */
  noteNewTasks(count: number): void;
  /**
   * Asks the database how many tasks every replica inserted since the last refresh, and refreshes
   * when that is enough (or when this process has not refreshed yet); the leader calls it now and then.
   */
  refreshIfStale(): Promise<void>;
};

const NOTHING_TO_DO: PlannerStatistics = { noteNewTasks() {}, refreshIfStale: async () => {} };

/** One per database, shared by the store (after creates) and the leader's loop, so they never refresh twice at once. */
const perDb = new WeakMap<Db, PlannerStatistics>();

export function plannerStatistics(db: Db): PlannerStatistics {
  const statements = db.dialect.statistics;
  if (!db.capabilities.analyze || !statements) return NOTHING_TO_DO;
  const known = perDb.get(db);
  if (known) return known;
  /** Tasks this process created since the last refresh. */
  let fresh = 0;
  let threshold = MIN_NEW;
  /** The database's count of inserted tasks when the last refresh began; null before the first. */
  let insertedThen: number | null = null;
  let running: Promise<void> | null = null;

  const inserted = async (): Promise<number | null> => {
    const row = await db.get<{ inserted: number | null }>(statements.inserted);
    return row?.inserted == null ? null : Number(row.inserted);
  };

  /** `seen`: the inserted count, when the caller has just read it. */
  const refresh = (seen?: number): Promise<void> => {
    running ??= (async () => {
      fresh = 0;
      try {
        // Read first: tasks inserted while ANALYZE samples count towards the next refresh.
        const before = seen ?? (await inserted());
        await db.run(statements.refresh);
        const row = await db.get<{ pending: number }>(`SELECT COUNT(*) AS pending FROM tasks WHERE status = 'pending'`);
        threshold = Math.max(MIN_NEW, Math.round(Number(row?.pending ?? 0) * NEW_SHARE));
        insertedThen = before;
      } catch {
        // Only planner statistics: autovacuum still catches up; a failing database shows elsewhere.
      } finally {
        running = null;
      }
    })();
    return running;
  };

  const statistics: PlannerStatistics = {
    noteNewTasks(count) {
      fresh += count;
      if (fresh >= threshold && !running) void refresh();
    },
    async refreshIfStale() {
      const now = await inserted();
      if (now === null) return; // no tasks table (yet)
      // No refresh yet (this process does not know what the statistics describe), or the
      // database's counters were reset: refresh, which also sets the count to compare with.
      if (insertedThen === null || now < insertedThen || now - insertedThen >= threshold) await refresh(now);
    },
  };
  perDb.set(db, statistics);
  return statistics;
}
