// The leader keeps the tasks table's planner statistics fresh after a burst of writes (PostgreSQL).
import { expect, it } from 'vitest';
import { keepPlannerStatsFresh } from '../../src/cluster/planner-stats.js';
import { silentLogger } from '../../src/logger.js';
import { openPostgres } from '../../src/store/postgres/driver.js';
import { waitFor } from '../helpers/replicas.js';
import { createTestSchema, sqliteBackend } from '../helpers/stores.js';

it('runs ANALYZE on tasks once a burst changed a tenth of it, and not before', async () => {
  const schema = await createTestSchema();
  const db = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  try {
    await db.migrate();
    const lastAnalyze = async () =>
      (await db.get<{ at: Date | null }>(`SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relid = to_regclass('tasks')`))?.at ?? null;
    const insert = (count: number) =>
      db.run(
        `INSERT INTO tasks (description, status, priority, priority_rank, created_at, updated_at) SELECT 'burst', 'pending', 'medium', 1, 0, 0 FROM generate_series(1, ?::int)`,
        [count],
      );
    running = keepPlannerStatsFresh(db, stop.signal, { log: silentLogger, intervalMs: 100 });
    await insert(200); // below the threshold
    await new Promise((r) => setTimeout(r, 1500));
    expect(await lastAnalyze()).toBeNull();
    await insert(3000);
    await waitFor(async () => (await lastAnalyze()) !== null, 5000, 'ANALYZE');
    const stats = await db.get<{ n: number }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass('tasks')`);
    expect(stats?.n).toBe(3200);
  } finally {
    stop.abort();
    await running;
    await db.close();
    await schema.drop();
  }
});

it('does nothing on SQLite', async () => {
  const opened = await sqliteBackend.open();
  const stop = new AbortController();
  await keepPlannerStatsFresh(opened.db, stop.signal, { log: silentLogger, intervalMs: 10 }); // returns at once
  await opened.cleanup();
});
