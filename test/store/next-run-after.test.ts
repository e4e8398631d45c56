// The earliest delayed task a long-poll waiter wakes up for, on both backends: found through the
// partial index of delayed tasks (migration tasks_delayed), not by reading every pending task (with
// 1,000,000 queued that read took 110-140 ms, once for every claim that found nothing).
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/core/ports.js';
import { nextRunAfterSql } from '../../src/store/sql-reads.js';
import { backends } from '../helpers/stores.js';


describe.each(backends)('next run time ($name)', (backend) => {
  let db: Db;
  let store: Store;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  async function task(runAfter: number, status = 'pending'): Promise<void> {
    const { id } = (await db.get<{ id: number }>(
      `INSERT INTO tasks (description, status, priority, priority_rank, created_at, updated_at, submitted_by, labels, depends_on, max_attempts, attempts, run_after)
       VALUES ('t', ?, 'medium', 1, 1, 1, 'api', '[]', '[]', 3, 0, ?) RETURNING id`,
      [status, runAfter],
    ))!;
    expect(id).toBeGreaterThan(0);
  }

  it('is the earliest future run_after among pending tasks, and null when none is delayed', async () => {
    ({ db, store, cleanup } = await backend.open());
    await task(0);
    expect(await store.nextRunAfter(1_000)).toBeNull();
    await task(500); // already due
    await task(9_000, 'completed');
    await task(3_000);
    await task(2_000);
    expect(await store.nextRunAfter(1_000)).toBe(2_000);
    expect(await store.nextRunAfter(2_000)).toBe(3_000);
    expect(await store.nextRunAfter(3_000)).toBeNull();
  });

  it('counts the end of the time a pending task is kept for one agent (a review asked for changes)', async () => {
    ({ db, store, cleanup } = await backend.open());
    await task(3_000);
    await db.run(`UPDATE tasks SET preferred_instance_id = 'host-a', preferred_until = 2500 WHERE id = 1`);
    expect(await store.nextRunAfter(1_000)).toBe(2_500);
    await db.run(`UPDATE tasks SET run_after = 0 WHERE id = 1`);
    expect(await store.nextRunAfter(2_000)).toBe(2_500);
    expect(await store.nextRunAfter(2_500)).toBeNull();
    await db.run(`UPDATE tasks SET status = 'in_progress' WHERE id = 1`);
    expect(await store.nextRunAfter(1_000)).toBeNull();
  });

  it('its statement reads the index of delayed tasks, whatever the table holds', async () => {
    ({ db, store, cleanup } = await backend.open());
    await task(0);
    await task(2_000);
    const plan =
      db.dialect.name === 'sqlite'
        ? JSON.stringify(await db.all(`EXPLAIN QUERY PLAN ${nextRunAfterSql(db.dialect)}`, [1_000, 1_000]))
        : // Sequential scans priced out, so the plan shows whether the index can serve the statement at all.
          JSON.stringify(await db.tx(async (q) => (await q.run('SET LOCAL enable_seqscan TO off'), q.all(`EXPLAIN (FORMAT JSON) ${nextRunAfterSql(db.dialect)}`, [1_000, 1_000]))));
    expect(plan).toContain('tasks_delayed');
    expect(plan).toContain('tasks_preferred_pending');
  });
});
