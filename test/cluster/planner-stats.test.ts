// The leader keeps the tasks table's planner statistics fresh after a burst of new tasks (PostgreSQL).
import { expect, it } from 'vitest';
import { keepPlannerStatsFresh } from '../../src/cluster/planner-stats.js';
import { silentLogger } from '../../src/logger.js';
import { openPostgres } from '../../src/store/open.js';
import type { Db } from '../../src/store/db.js';
import { waitFor } from '../helpers/replicas.js';
import { createTestSchema, sqliteBackend } from '../helpers/stores.js';

/** The database as the loop sees it, with every method it calls recorded (name and first argument). */
function recorded(db: Db): { db: Db; calls: { method: string; sql: unknown; result?: unknown }[] } {
  const calls: { method: string; sql: unknown; result?: unknown }[] = [];
  const proxy = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const call: { method: string; sql: unknown; result?: unknown } = { method: String(prop), sql: args[0] };
        calls.push(call);
        const out = value.apply(target, args);
        if (out instanceof Promise) void out.then((result) => (call.result = result), () => {});
        return out;
      };
    },
  });
  return { db: proxy, calls };
}

it('runs ANALYZE when it takes over, then once enough new tasks arrived (half of those pending then, 500 at least), not for changes that only take tasks away', async () => {
  const schema = await createTestSchema();
  const db = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  try {
    await db.migrate();
    const analyzed = async () =>
      Number((await db.get<{ n: number }>(`SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relid = to_regclass('tasks')`))?.n ?? 0);
    // The writing session hands its counts to pg_stat_user_tables when its transaction ends, forced
    // (PostgreSQL 15+): left to itself an idle session may hold them back for up to 10 s, and the
    // loop would wait for changes the test already made.
    const forceFlush = Number((await db.get<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`))?.v) >= 150000;
    const write = (sql: string, params: unknown[] = []) =>
      db.tx(async (q) => {
        await q.run(sql, params);
        if (forceFlush) await q.get('SELECT pg_stat_force_next_flush()');
      });
    const insert = (count: number) =>
      write(
        `INSERT INTO tasks (description, status, priority, priority_rank, created_at, updated_at) SELECT 'burst', 'pending', 'medium', 1, 0, 0 FROM generate_series(1, ?::int)`,
        [count],
      );
    // A history of finished tasks, far larger than the bursts below (a tenth of the table would never be reached).
    await write(`INSERT INTO tasks (description, status, priority, priority_rank, created_at, updated_at) SELECT 'done', 'completed', 'medium', 1, 0, 0 FROM generate_series(1, 20000)`);
    const watched = recorded(db);
    const analyzes = () => watched.calls.filter((c) => c.method === 'run').map((c) => c.sql);
    /** Checks that have seen at least `count` tasks inserted. */
    const checksSeeing = (count: number) =>
      watched.calls.filter((c) => c.method === 'get' && ((c.result as { inserted?: number } | undefined)?.inserted ?? 0) >= count).length;
    running = keepPlannerStatsFresh(watched.db, stop.signal, { log: silentLogger, intervalMs: 100 });
    // Taking over, it does not know what the statistics describe: one refresh.
    await waitFor(async () => (await analyzed()) === 1, 30_000, 'the first ANALYZE');
    expect(analyzes()).toEqual(['ANALYZE tasks']); // one mechanism (store/statistics.ts) refreshes the queue's table
    await insert(300); // below 500
    // Every one of the 20,000 finished tasks changed again: changes only, no new task.
    await write(`UPDATE tasks SET updated_at = 1 WHERE status = 'completed'`);
    // Two checks have seen the 300 new tasks (statistics reach pg_stat_user_tables a little later), so
    // the loop has decided about them at least once: no ANALYZE.
    await waitFor(() => checksSeeing(20_300) >= 2, 30_000, 'the loop to see the small burst');
    expect(analyzes()).toHaveLength(1);
    await insert(300); // 600 new tasks since the refresh, when none was pending
    await waitFor(async () => (await analyzed()) === 2, 30_000, 'ANALYZE after the burst');
    const stats = await db.get<{ n: number }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass('tasks')`);
    expect(Number(stats?.n)).toBe(20_600);
    // 600 pending now: the next refresh waits for 500 more new tasks (half of 600 is below that floor).
    await insert(400);
    await waitFor(() => checksSeeing(21_000) >= 2, 30_000, 'the loop to see the second burst');
    expect(analyzes()).toHaveLength(2);
    await insert(100);
    await waitFor(async () => (await analyzed()) === 3, 30_000, 'ANALYZE after 500 more');
    expect(analyzes()).toEqual(['ANALYZE tasks', 'ANALYZE tasks', 'ANALYZE tasks']);
    // 1,100 pending now: half of them, 550, is the threshold, above the floor of 500.
    await insert(520);
    await waitFor(() => checksSeeing(21_620) >= 2, 30_000, 'the loop to see the third burst');
    expect(analyzes()).toHaveLength(3);
    await insert(30);
    await waitFor(async () => (await analyzed()) === 4, 30_000, 'ANALYZE after 550 more');
  } finally {
    stop.abort();
    await running;
    await db.close();
    await schema.drop();
  }
}, 90_000);

it('does nothing on SQLite: returns at once without a statement', async () => {
  const opened = await sqliteBackend.open();
  try {
    const watched = recorded(opened.db);
    const stop = new AbortController();
    // Resolving while the signal is still live shows it did not start a loop.
    await keepPlannerStatsFresh(watched.db, stop.signal, { log: silentLogger, intervalMs: 10 });
    expect(stop.signal.aborted).toBe(false);
    expect(watched.calls).toEqual([]);
  } finally {
    await opened.cleanup();
  }
});
