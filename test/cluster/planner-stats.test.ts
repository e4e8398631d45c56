// The leader keeps the tasks table's planner statistics fresh after a burst of writes (PostgreSQL).
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

it('runs ANALYZE on tasks once a burst changed a tenth of it, and not before', async () => {
  const schema = await createTestSchema();
  const db = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  try {
    await db.migrate();
    const lastAnalyze = async () =>
      (await db.get<{ at: Date | null }>(`SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relid = to_regclass('tasks')`))?.at ?? null;
    // The inserting session hands its counts to pg_stat_user_tables when its transaction ends, forced
    // (PostgreSQL 15+): left to itself an idle session may hold them back for up to 10 s, and the
    // loop would wait for changes the test already made.
    const forceFlush = Number((await db.get<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`))?.v) >= 150000;
    const insert = (count: number) =>
      db.tx(async (q) => {
        await q.run(
          `INSERT INTO tasks (description, status, priority, priority_rank, created_at, updated_at) SELECT 'burst', 'pending', 'medium', 1, 0, 0 FROM generate_series(1, ?::int)`,
          [count],
        );
        if (forceFlush) await q.get('SELECT pg_stat_force_next_flush()');
      });
    const watched = recorded(db);
    const checksSeeing = (changes: number) =>
      watched.calls.filter((c) => c.method === 'get' && ((c.result as { changes?: number } | undefined)?.changes ?? 0) >= changes).length;
    running = keepPlannerStatsFresh(watched.db, stop.signal, { log: silentLogger, intervalMs: 100 });
    await insert(200); // below the threshold
    // Two checks have seen the 200 changes (statistics reach pg_stat_user_tables a little later), so the
    // loop has decided about them at least once: no ANALYZE.
    await waitFor(() => checksSeeing(200) >= 2, 30_000, 'the loop to see the small burst');
    expect(watched.calls.filter((c) => c.method === 'run')).toEqual([]);
    expect(await lastAnalyze()).toBeNull();
    await insert(3000);
    await waitFor(async () => (await lastAnalyze()) !== null, 30_000, 'ANALYZE');
    expect(watched.calls.filter((c) => c.method === 'run').map((c) => c.sql)).toEqual(['ANALYZE tasks']); // one mechanism (store/statistics.ts) refreshes the queue's table
    const stats = await db.get<{ n: number }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass('tasks')`);
    expect(Number(stats?.n)).toBe(3200);
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
