// Each background loop's effect on a real store (both backends), driven through the loop runner on a test clock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../src/core/types.js';
import { createLoopRunner, type LoopSpec } from '../../src/jobs/loop-runner.js';
import { instanceLivenessLoop } from '../../src/jobs/liveness.js';
import { retentionLoop, DAY_MS, type RetentionWarning } from '../../src/jobs/retention.js';
import { startServerLoops } from '../../src/jobs/server-loops.js';
import type { DailySummary } from '../../src/jobs/summary.js';
import { leaseSweeperLoop } from '../../src/jobs/sweeper.js';
import { schedulesLoop } from '../../src/jobs/schedules.js';
import { silentLogger } from '../../src/logger.js';
import { readdirSync } from 'node:fs';
import { backends, openTestQueue, tempDir, type TestQueue } from '../helpers/stores.js';
import { fakeTimers } from './fake-timers.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

describe.each(backends)('background loops on $name', (backend) => {
  let t: TestQueue;
  let events: TaskEvent[];
  let stop: AbortController;
  beforeEach(async () => {
    t = await openTestQueue(backend, { leaseMs: 30 * MINUTE, wipLimit: 0 });
    events = [];
    t.bus.subscribe((e) => events.push(e));
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await t.cleanup();
  });

  /** Runs one loop once, now, through the runner (as the server would at its scheduled time). */
  async function runOnce(spec: LoopSpec) {
    const runner = createLoopRunner({ log: silentLogger, timers: fakeTimers(t.clock) });
    const loop = runner.start(spec, stop.signal);
    await loop.runNow();
    return loop.state();
  }

  it('sweeper: requeues a task whose lease expired, and fails it after its last attempt', async () => {
    const { task } = await t.queue.create({ description: 'build', maxAttempts: 2 });
    const first = await t.queue.claimNext({ instanceId: 'host-a' });
    t.clock.advance(29 * MINUTE);
    await runOnce(leaseSweeperLoop(t.queue, { everyMs: 15_000 }));
    expect((await t.queue.get(task.id)).status).toBe('in_progress'); // lease still valid

    t.clock.advance(2 * MINUTE);
    const state = await runOnce(leaseSweeperLoop(t.queue, { everyMs: 15_000 }));
    expect(state.lastError).toBeNull();
    const requeued = await t.queue.get(task.id);
    expect(requeued).toMatchObject({ status: 'pending', instanceId: null, attempts: 1 });
    expect(events.map((e) => e.type)).toContain('requeued');

    t.clock.advance(HOUR); // past the retry backoff
    const second = await t.queue.claimNext({ instanceId: 'host-b' });
    expect(second!.id).toBe(first!.id);
    t.clock.advance(31 * MINUTE);
    await runOnce(leaseSweeperLoop(t.queue, { everyMs: 15_000 }));
    expect((await t.queue.get(task.id)).status).toBe('failed');
  });

  it('liveness: an agent silent for INSTANCE_OFFLINE_MINUTES goes offline; its task keeps its lease', async () => {
    await t.queue.create({ description: 'long job' });
    const claimed = await t.queue.claimNext({ instanceId: 'host-a', instanceName: 'Agent A' });
    await t.queue.touchInstance({ instanceId: 'host-b' });
    t.clock.advance(6 * MINUTE);
    await t.queue.touchInstance({ instanceId: 'host-b' });
    t.clock.advance(5 * MINUTE);

    await runOnce(instanceLivenessLoop(t.queue, { offlineAfterMs: 10 * MINUTE }));
    const instances = Object.fromEntries((await t.queue.instances()).map((i) => [i.id, i.status]));
    expect(instances).toEqual({ 'host-a': 'offline', 'host-b': 'idle' });
    expect((await t.queue.get(claimed!.id)).status).toBe('in_progress');

    // Lease rules decide what happens to the task: once it expires, the sweeper requeues it.
    t.clock.advance(20 * MINUTE);
    await runOnce(leaseSweeperLoop(t.queue, { everyMs: 15_000 }));
    expect((await t.queue.get(claimed!.id)).status).toBe('pending');
  });

  it('retention: announces a day ahead, purges only after that, and never more than announced', async () => {
    const finish = async (description: string) => {
      await t.queue.create({ description });
      const c = await t.queue.claimNext({ instanceId: 'host-a' });
      return (await t.queue.complete(c!.id, { leaseToken: c!.leaseToken })).id;
    };
    const start = t.clock.now;
    const old = await finish('old');
    t.clock.advance(6 * HOUR);
    const newer = await finish('newer');
    const keptPending = (await t.queue.create({ description: 'still pending' })).task.id;

    const warnings: RetentionWarning[] = [];
    const loop = (days: number) => retentionLoop(t.queue, { retentionDays: days, onWarning: (w) => void warnings.push(w) });

    // Day 1 + 1 h: nothing is 2 days old yet; `old` will be by tomorrow, so it is announced.
    t.clock.now = start + DAY_MS + HOUR;
    await runOnce(loop(2));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ count: 1, retentionDays: 2, finishedBefore: start + HOUR, purgeAfter: t.clock.now + DAY_MS });
    expect(await t.store.getTask(old)).not.toBeNull();

    // A restart and another run within the notice period: no purge, no second announcement.
    t.clock.now = start + DAY_MS + 5 * HOUR;
    await runOnce(loop(2));
    expect(warnings).toHaveLength(1);
    expect(await t.store.getTask(old)).not.toBeNull();

    // A day after the announcement, with RETENTION_DAYS lowered to 1 meanwhile: `newer` is now past
    // retention too, but it was not announced, so only `old` goes.
    t.clock.now = start + 2 * DAY_MS + 2 * HOUR;
    await runOnce(loop(1));
    expect(await t.store.getTask(old)).toBeNull();
    expect(await t.store.getTask(newer)).not.toBeNull();
    expect(await t.store.getTask(keptPending)).not.toBeNull();
    expect(events.map((e) => e.type)).toContain('purged');
    expect(warnings.at(-1)).toMatchObject({ count: 1, retentionDays: 1 }); // `newer`, announced now

    t.clock.now = start + 3 * DAY_MS + 3 * HOUR;
    await runOnce(loop(1));
    expect(await t.store.getTask(newer)).toBeNull();
    expect(await t.store.getTask(keptPending)).not.toBeNull();
  });

  it('a failing announcement fails the run and is retried; nothing is purged unannounced', async () => {
    await t.queue.create({ description: 'done' });
    const c = await t.queue.claimNext({ instanceId: 'host-a' });
    await t.queue.complete(c!.id, { leaseToken: c!.leaseToken });
    t.clock.advance(2 * DAY_MS);
    let attempts = 0;
    const failing = retentionLoop(t.queue, {
      retentionDays: 1,
      onWarning: () => {
        attempts++;
        throw new Error('discord down');
      },
    });
    const state = await runOnce(failing);
    expect(state).toMatchObject({ errors: 1, lastError: 'discord down' });
    t.clock.advance(2 * DAY_MS);
    await runOnce(failing);
    expect(attempts).toBe(2);
    expect(await t.store.getTask(c!.id)).not.toBeNull();
  });

  it('schedules: each tick creates the due schedules\' tasks once; a broken schedule is logged and the others still run', async () => {
    const every = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'every minute' }, overlap: true });
    const broken = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'broken' }, overlap: true });
    await t.db.run("UPDATE schedules SET cron = 'not a cron' WHERE id = ?", [broken.id]); // as if written by a future version
    t.clock.advance(MINUTE);
    const state = await runOnce(schedulesLoop(t.queue, { everyMs: 15_000 }));
    expect(state.lastError).toBeNull();
    expect(state.runs).toBe(1);
    const created = events.filter((e) => e.type === 'created');
    expect(created.map((e) => e.task?.scheduleId)).toEqual([every.id]);
    await runOnce(schedulesLoop(t.queue, { everyMs: 15_000 }));
    expect(events.filter((e) => e.type === 'created')).toHaveLength(1);
  });

  it('server loops: the sweeper runs every SWEEP_INTERVAL_SECONDS, backups on SQLite only, the summary at SUMMARY_TIME in TZ', async () => {
    const backupDir = tempDir('athena-loop-backups-');
    let runner: ReturnType<typeof createLoopRunner> | null = null;
    const timers = fakeTimers(t.clock, { busy: () => runner?.states().some((s) => s.running) ?? false }); // 2026-01-01 00:00 UTC
    runner = createLoopRunner({ log: silentLogger, timers, random: () => 0 });
    const summaries: DailySummary[] = [];
    const { loops } = startServerLoops(
      {
        config: {
          SWEEP_INTERVAL_SECONDS: 15,
          SCHEDULE_TICK_SECONDS: 15,
          INSTANCE_OFFLINE_MINUTES: 10,
          RETENTION_DAYS: 0,
          BACKUP_DIR: backupDir.path,
          BACKUP_INTERVAL_HOURS: 24,
          BACKUP_KEEP: 3,
          SUMMARY_TIME: '09:30',
          TZ: 'Asia/Tokyo',
          DB_PATH: backend.name === 'sqlite' ? (t.db as unknown as { path: string }).path : '/unused/athena.db',
        },
        queue: t.queue,
        db: t.db,
        log: silentLogger,
        runner,
        onSummary: (s) => void summaries.push(s),
      },
      stop.signal,
    );
    // Retention is off (RETENTION_DAYS=0); PostgreSQL has no backup loop (pg_dump does that).
    expect(loops.map((l) => l.name).sort()).toEqual(backend.name === 'sqlite' ? ['backup', 'liveness', 'schedules', 'summary', 'sweeper'] : ['liveness', 'schedules', 'summary', 'sweeper']);

    await t.queue.create({ description: 'claimed then abandoned' });
    await t.queue.claimNext({ instanceId: 'host-a', leaseMs: 20_000 });
    await timers.advance(30_000);
    expect((await t.queue.stats()).byStatus.pending).toBe(1); // swept on its own
    expect(runner.states().find((s) => s.name === 'sweeper')!.runs).toBe(2);

    // 09:30 in Tokyo is 00:30 UTC.
    await timers.advance(30 * MINUTE);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ to: Date.UTC(2026, 0, 1, 0, 30), created: 1, requeued: 1 });
    // The first backup is due a minute after start (there was none before).
    expect(readdirSync(backupDir.path)).toEqual(backend.name === 'sqlite' ? ['athena-20260101T000100000Z.db'] : []);
    backupDir.cleanup();
  });
});
