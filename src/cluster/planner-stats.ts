// Keeps PostgreSQL's planner statistics of the tasks table fresh while this replica leads.
import type { Logger } from '../logger.js';
import type { Db } from '../store/db.js';
import { sleep } from '../timing.js';

export type PlannerStatsOptions = { log: Logger; intervalMs?: number };

/** Changed rows since the last ANALYZE that warrant a new one (and at least this share of the table). */
const MIN_CHANGES = 1000;
const MIN_SHARE = 0.1;

/**
 * A queue's pending count swings faster than autovacuum re-analyzes (it looks once a minute):
 * after a burst of creates, statistics that still say "almost nothing is pending" make the
 * claim statement collect and sort every pending task instead of reading the first one from
 * the queue index; measured 12 ms instead of 0.06 ms per claim with 5,000 pending. So the leader
 * checks every `intervalMs` how much changed and runs ANALYZE when it is a tenth of the table.
 * On SQLite there is nothing to do.
 */
export async function keepPlannerStatsFresh(db: Db, signal: AbortSignal, options: PlannerStatsOptions): Promise<void> {
  if (db.dialect.name !== 'postgres') return;
  const log = options.log.child({ component: 'planner-stats' });
  const intervalMs = options.intervalMs ?? 5000;
  while (!signal.aborted) {
    try {
      const row = await db.get<{ changes: number; live: number }>(
        `SELECT n_mod_since_analyze AS changes, n_live_tup AS live FROM pg_stat_user_tables WHERE relid = to_regclass('tasks')`,
      );
      if (row && row.changes >= MIN_CHANGES && row.changes >= MIN_SHARE * row.live) {
        const started = Date.now();
        await db.run('ANALYZE tasks');
        log.debug({ changes: row.changes, live: row.live, tookMs: Date.now() - started }, 'refreshed planner statistics of tasks');
      }
    } catch (err) {
      // The database being away is reported by the requests that need it; try again next round.
      log.debug({ err: { message: (err as Error).message } }, 'could not refresh planner statistics');
    }
    await sleep(intervalMs, signal);
  }
}
