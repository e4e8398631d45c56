// The leader's loop that keeps the planner statistics fresh (the statements: store/statistics.ts).
import type { Logger } from '../logger.js';
import type { Db } from '../store/db.js';
import { plannerStatistics } from '../store/statistics.js';
import { sleep } from '../timing.js';

export type PlannerStatsOptions = { log: Logger; intervalMs?: number };

/**
 * A queue's pending count swings faster than autovacuum re-analyzes, and other replicas' creates
 * are not counted by this one's store: so the leader checks every `intervalMs` how much changed
 * and refreshes when enough did. Returns at once where the backend has nothing to analyze.
 */
export async function keepPlannerStatsFresh(db: Db, signal: AbortSignal, options: PlannerStatsOptions): Promise<void> {
  if (!db.capabilities.analyze) return;
  const statistics = plannerStatistics(db);
  const log = options.log.child({ component: 'planner-stats' });
  const intervalMs = options.intervalMs ?? 5000;
  while (!signal.aborted) {
    try {
      await statistics.refreshIfStale();
    } catch (err) {
      // The database being away is reported by the requests that need it; try again next round.
      log.debug({ err: { message: (err as Error).message } }, 'could not refresh planner statistics');
    }
    await sleep(intervalMs, signal);
  }
}
