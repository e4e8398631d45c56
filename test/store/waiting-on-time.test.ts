// Readiness by time kept in the row (store/sql-due.ts): claims, peeks and offers pass over delayed
// tasks queued ahead of ready ones without walking them, and every way a task comes to be delayed
// (created so, a retry's backoff, an edit, an import, an older queue migrated) leaves it claimable
// once its time comes, through the process that delayed it and through another one.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import { createClaimWaiters } from '../../src/core/waiters.js';
import type { Db } from '../../src/store/db.js';
import { RECHECK_MS, clearDueSql, nextDueSql } from '../../src/store/sql-due.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { openBefore } from '../helpers/old-database.js';
import { backends, defaultQueueConfig, openReopenable, openTestQueue, testClock, type TestQueue } from '../helpers/stores.js';

const MINUTE = 60_000;

/** Ids an agent (of `labels`) claims, in order, until none is left for it. */
async function claimAll(queue: Queue, labels: '*' | string[] = '*', projects?: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; ; i++) {
    const task = await queue.claimNext({ instanceId: `agent-${i}`, labels, projects });
    if (!task) return ids;
    ids.push(task.id);
  }
}

/** The mark as the row keeps it (1: passed over by the walks). */
async function marked(db: Db, id: number): Promise<number> {
  return Number((await db.get<{ w: number }>('SELECT waiting_on_time AS w FROM tasks WHERE id = ?', [id]))?.w);
}

describe.each(backends)('delayed tasks ($name)', (backend) => {
  let t: TestQueue;
  afterEach(async () => t?.cleanup());

  it('claims, peeks and offers pass over delayed tasks ahead of ready ones, and take them in claiming order once due', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 }, { clock: testClock() });
    const now = t.clock.now;
    const delayed: number[] = [];
    for (let i = 0; i < 4; i++) {
      const labels = i % 2 ? ['gpu'] : [];
      delayed.push((await t.queue.create({ description: `delayed ${i}`, priority: 'high', labels, project: i === 3 ? 'site' : null, runAfter: now + 10 * MINUTE })).task.id);
    }
    const ready = (await t.queue.create({ description: 'ready', priority: 'low', labels: ['gpu'], project: 'site' })).task;
    expect(await marked(t.db, delayed[0]!)).toBe(1);
    expect(await marked(t.db, ready.id)).toBe(0);
    expect((await t.queue.peekNext())?.id).toBe(ready.id);
    expect((await t.queue.offerNext('peeker'))?.id).toBe(ready.id);
    // Without labels: only unlabelled tasks, all of them delayed.
    expect(await claimAll(t.queue, [])).toEqual([]);
    t.clock.advance(5 * MINUTE);
    expect(await claimAll(t.queue, ['gpu'], ['site'])).toEqual([ready.id]);

    t.clock.advance(5 * MINUTE);
    expect((await t.queue.peekNext())?.id).toBe(delayed[0]);
    expect(await marked(t.db, delayed[0]!)).toBe(0);
    expect(await claimAll(t.queue, [])).toEqual([delayed[0], delayed[2]]);
    expect(await claimAll(t.queue, ['gpu'], ['site'])).toEqual([delayed[3]]);
    expect(await claimAll(t.queue)).toEqual([delayed[1]]);
  });

  it('20 agents claiming at once the moment 20 delayed tasks come due: each task claimed exactly once, none left', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 }, { clock: testClock() });
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push((await t.queue.create({ description: `due together ${i}`, runAfter: t.clock.now + MINUTE })).task.id);
    expect(await claimAll(t.queue)).toEqual([]);
    t.clock.advance(MINUTE);
    // Every claim finds the marks due and waits for their clearing before it walks.
    const claimed = await Promise.all(Array.from({ length: 20 }, (_, i) => t.queue.claimNext({ instanceId: `together-${i}`, labels: '*' })));
    expect(claimed.map((task) => task?.id).sort((a, b) => a! - b!)).toEqual(ids);
    expect(await claimAll(t.queue)).toEqual([]);
  });

  it('a failed attempt requeued with backoff is passed over until its backoff has passed', async () => {
    t = await openTestQueue(backend, { wipLimit: 0, retryBaseMs: MINUTE }, { clock: testClock() });
    const failing = (await t.queue.create({ description: 'fails once', priority: 'high' })).task;
    const claimed = (await t.queue.claimNext({ instanceId: 'agent', labels: '*' }))!;
    expect(claimed.id).toBe(failing.id);
    const requeued = await t.queue.fail(failing.id, { leaseToken: claimed.leaseToken, error: 'flaky', retry: true });
    expect(requeued).toMatchObject({ status: 'pending' });
    expect(requeued.runAfter).toBeGreaterThan(t.clock.now);
    expect(await marked(t.db, failing.id)).toBe(1);
    const other = (await t.queue.create({ description: 'ready', priority: 'low' })).task;
    expect(await claimAll(t.queue)).toEqual([other.id]);
    t.clock.advance(requeued.runAfter - t.clock.now);
    expect(await claimAll(t.queue)).toEqual([failing.id]);
  });

  it('an edit delays a pending task, or makes it due at once; a delayed task cancelled and reopened is claimed', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 }, { clock: testClock() });
    const now = t.clock.now;
    const later = (await t.queue.create({ description: 'later', priority: 'high' })).task;
    const sooner = (await t.queue.create({ description: 'sooner', priority: 'high', runAfter: now + 60 * MINUTE })).task;
    const cancelled = (await t.queue.create({ description: 'cancelled', priority: 'high', runAfter: now + 60 * MINUTE })).task;
    await t.queue.edit(later.id, { runAfter: now + 60 * MINUTE });
    expect(await marked(t.db, later.id)).toBe(1);
    expect(await claimAll(t.queue)).toEqual([]);
    await t.queue.edit(sooner.id, { runAfter: now });
    expect(await marked(t.db, sooner.id)).toBe(0);
    await t.queue.cancel(cancelled.id);
    await t.queue.reopen(cancelled.id);
    expect(await claimAll(t.queue)).toEqual([sooner.id, cancelled.id]);
    t.clock.advance(60 * MINUTE);
    expect(await claimAll(t.queue)).toEqual([later.id]);
  });

  it('a task delayed for less than a second is claimed at its time, however recently the marks were cleared', async () => {
    t = await openTestQueue(backend, { wipLimit: 0, retryBaseMs: 100 }, { clock: testClock() });
    // A walk that cleared finds no mark, and trusts that for RECHECK_MS: the writes below must tell it.
    expect(await claimAll(t.queue)).toEqual([]);
    const created = (await t.queue.create({ description: 'created delayed', runAfter: t.clock.now + 100 })).task;
    t.clock.advance(100);
    expect(await claimAll(t.queue)).toEqual([created.id]);

    const edited = (await t.queue.create({ description: 'edited' })).task;
    await t.queue.edit(edited.id, { runAfter: t.clock.now + 100 });
    expect(await claimAll(t.queue)).toEqual([]);
    t.clock.advance(100);
    const claimed = await t.queue.claimNext({ instanceId: 'agent', labels: '*' });
    expect(claimed?.id).toBe(edited.id);

    const requeued = await t.queue.fail(edited.id, { leaseToken: claimed!.leaseToken, error: 'flaky', retry: true });
    expect(requeued.runAfter - t.clock.now).toBeLessThan(RECHECK_MS);
    expect(await claimAll(t.queue)).toEqual([]);
    t.clock.advance(requeued.runAfter - t.clock.now);
    expect(await claimAll(t.queue)).toEqual([edited.id]);
  });

  it("the clearing's statements read the index of marked tasks, not every pending task", async () => {
    t = await openTestQueue(backend, { wipLimit: 0 }, { clock: testClock() });
    await t.queue.create({ description: 'plain' });
    await t.queue.create({ description: 'delayed', runAfter: t.clock.now + MINUTE });
    const plans: string[] = [];
    for (const sql of [clearDueSql(t.db.dialect), nextDueSql(t.db.dialect)]) {
      const params = sql.includes('?') ? [t.clock.now] : [];
      plans.push(
        t.db.dialect.name === 'sqlite'
          ? JSON.stringify(await t.db.all(`EXPLAIN QUERY PLAN ${sql}`, params))
          : // Sequential scans priced out, so the plan shows whether the index can serve the statement at all.
            JSON.stringify(await t.db.tx(async (q) => (await q.run('SET LOCAL enable_seqscan TO off'), q.all(`EXPLAIN (FORMAT JSON) ${sql}`, params)))),
      );
    }
    for (const plan of plans) expect(plan).toContain('tasks_not_yet_due');
  });

  it('an import marks the delayed tasks: passed over until their time', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 }, { clock: testClock() });
    const delayed = (await t.queue.create({ description: 'delayed', priority: 'high', runAfter: t.clock.now + MINUTE })).task;
    const ready = (await t.queue.create({ description: 'ready', priority: 'low' })).task;
    const data = await t.queue.exportAll();
    await t.cleanup();
    const clock = testClock();
    t = await openTestQueue(backend, { wipLimit: 0 }, { clock });
    await t.queue.importAll(data);
    expect(await marked(t.db, delayed.id)).toBe(1);
    expect(await claimAll(t.queue)).toEqual([ready.id]);
    clock.advance(MINUTE);
    expect(await claimAll(t.queue)).toEqual([delayed.id]);
  });
});

describe.each(['sqlite', 'postgres'] as const)('a task delayed through another process (%s)', (backend) => {
  it('is handed to a long-poll waiter there at its time, and claimed there by an agent polling, also once that process\'s clock was set back', async () => {
    const opened = await openReopenable(backend);
    try {
      const queueOn = (db: Db, clock?: () => number) => createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 }, clock });
      // B last read the marks before A delayed the task, and is not told of A's events here: its
      // waiter learns when the task comes due from the database, and so does B's store.
      const [a, b] = [queueOn(opened.db), queueOn(await opened.reopen())];
      const waiters = createClaimWaiters(b);
      try {
        expect(await b.claimNext({ instanceId: 'b-agent', labels: '*' })).toBeNull();
        const runAfter = Date.now() + 500;
        const delayed = (await a.create({ description: 'soon', runAfter })).task;
        const waiting = waiters.claimOrWait({ instanceId: 'b-waiter', labels: '*' }, 20_000);
        expect((await waiting)?.id).toBe(delayed.id);
        expect(Date.now()).toBeGreaterThanOrEqual(runAfter);
      } finally {
        waiters.close();
      }

      // An agent polling through C, whose process last read the marks before A delayed the task:
      // it sees the task at the latest RECHECK_MS after the time it last read them.
      const clock = testClock(Date.now() + MINUTE);
      const c = queueOn(await opened.reopen(), clock.fn);
      expect(await c.claimNext({ instanceId: 'c-agent', labels: '*' })).toBeNull();
      const polled = (await a.create({ description: 'polled', runAfter: clock.now + 100 })).task;
      clock.advance(RECHECK_MS);
      expect((await c.claimNext({ instanceId: 'c-agent', labels: '*' }))?.id).toBe(polled.id);

      // C's clock set back half a minute (still ahead of A's): what it knew of the marks is read again at once.
      clock.advance(-30_000);
      const setBack = (await a.create({ description: 'set back', runAfter: clock.now })).task;
      expect(setBack.runAfter).toBeGreaterThan(Date.now());
      expect((await c.claimNext({ instanceId: 'c-agent-2', labels: '*' }))?.id).toBe(setBack.id);
    } finally {
      await opened.cleanup();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('migration waiting_on_time (%s)', (backend) => {
  it('marks the pending tasks delayed past the moment it runs; claims pass over them', async () => {
    // #1 delayed far ahead (high); #2 due long ago (high); #3 plain (low); #4 completed and delayed.
    const far = Date.now() + 365 * 24 * 60 * MINUTE;
    const old = await openBefore(
      backend,
      backend === 'sqlite' ? '024_waiting_on_time' : '025_waiting_on_time',
      `INSERT INTO tasks (id, description, status, priority, priority_rank, created_at, updated_at, run_after) VALUES
         (1, 'far ahead', 'pending', 'high', 0, 1000, 1000, ${far}),
         (2, 'due long ago', 'pending', 'high', 0, 1001, 1001, 5000),
         (3, 'plain', 'pending', 'low', 2, 1002, 1002, 0),
         (4, 'done', 'completed', 'high', 0, 1003, 1003, ${far});`,
      `SELECT setval(pg_get_serial_sequence('tasks', 'id'), 4)`,
    );
    try {
      expect((await old.db.migrate()).some((name) => name.includes('waiting_on_time'))).toBe(true);
      const rows = await old.db.all<{ id: number; w: number }>('SELECT id, waiting_on_time AS w FROM tasks ORDER BY id');
      expect(rows.map((r) => [Number(r.id), Number(r.w)])).toEqual([[1, 1], [2, 0], [3, 0], [4, 0]]);
      const clock = testClock(far - MINUTE);
      const queue = createQueue({ store: new SqlStore(old.db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 }, clock: clock.fn });
      expect(await claimAll(queue)).toEqual([2, 3]);
      clock.advance(MINUTE);
      expect(await claimAll(queue)).toEqual([1]);
    } finally {
      await old.cleanup();
    }
  });
});
