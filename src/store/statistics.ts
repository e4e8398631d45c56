// Keeps the planner's statistics of the queue tables fresh where the backend has them (PostgreSQL).
// Autovacuum analyzes a table only after a minute or more; until then the planner believes a queue
// that grew from ten to ten thousand pending tasks still holds ten, and every claim collects and
// sorts all pending tasks instead of reading the first from the queue index (measured: 12–23 ms per
// claim instead of 0.06–0.1 ms at 5,000–10,000 pending).
import type { Db } from './db.js';

/** Changed rows that make the statistics stale: at least this many, and this share of the table. */
const MIN_CHANGES = 500;
const CHANGED_SHARE = 0.1;

export type PlannerStatistics = {
  /** Counts tasks this process created; refreshes in the background once enough arrived. */
  noteNewTasks(count: number): void;
  /**
   * Asks the database how many rows changed since the last refresh, by every replica, and
   * refreshes when that is enough; the leader calls it now and then.
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
  let fresh = 0;
  let threshold = MIN_CHANGES;
  let running: Promise<void> | null = null;

  const refresh = (): Promise<void> => {
    running ??= (async () => {
      fresh = 0;
      try {
        await db.run(statements.refresh);
        const row = await db.get<{ live: number }>(statements.changes);
        threshold = Math.max(MIN_CHANGES, Math.round(Number(row?.live ?? 0) * CHANGED_SHARE));
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
      const row = await db.get<{ changes: number; live: number }>(statements.changes);
      if (row && row.changes >= Math.max(MIN_CHANGES, CHANGED_SHARE * row.live)) await refresh();
    },
  };
  perDb.set(db, statistics);
  return statistics;
}
