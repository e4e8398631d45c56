// The daily summary's numbers (both backends), GET /api/summary, and its text form.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDailySummary, summaryText } from '../../src/jobs/summary.js';
import { backends } from '../helpers/stores.js';
import { openObservedApp, type ObservedApp } from '../metrics/observed-app.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe.each(backends)('daily summary on $name', (backend) => {
  let t: ObservedApp;
  beforeEach(async () => {
    t = await openObservedApp(backend, { retentionDays: 2 });
  });
  afterEach(async () => t.close());

  /** A task claimed by `agent` that runs `ms` and then completes (or fails). */
  async function work(agent: string, ms: number, outcome: 'complete' | 'fail', description = `job for ${agent}`) {
    const { task } = await t.queue.create({ description });
    const claimed = await t.queue.claim(task.id, { instanceId: agent, instanceName: agent.toUpperCase() });
    t.clock.advance(ms);
    if (outcome === 'complete') await t.queue.complete(task.id, { leaseToken: claimed.leaseToken });
    else await t.queue.fail(task.id, { leaseToken: claimed.leaseToken, error: 'tests red' });
    return task.id;
  }

  it('counts the last 24 h only, ranks the slowest tasks and the busiest agents', async () => {
    // Two days ago: outside the window, and old enough to be announced for purge.
    await work('old-agent', 10 * MINUTE, 'complete');
    t.clock.advance(2 * 24 * HOUR);

    const slow = await work('alpha', 2 * HOUR, 'complete', 'migrate the database');
    const fast = await work('alpha', 5 * MINUTE, 'complete');
    await work('beta', 30 * MINUTE, 'fail');
    const medium = await work('gamma', 40 * MINUTE, 'complete');
    await t.queue.create({ description: 'waiting' });
    const cancelled = await t.queue.create({ description: 'never mind' });
    await t.queue.cancel(cancelled.task.id);

    const summary = await buildDailySummary(t.queue, t.queue.now(), { retentionDays: 2 });
    expect(summary).toMatchObject({ created: 6, completed: 3, failed: 1, requeued: 0, cancelled: 1, purgeableWithinDay: 1 });
    expect(summary.to - summary.from).toBe(24 * HOUR);
    expect(summary.byStatus).toMatchObject({ pending: 1, completed: 4, failed: 1, cancelled: 1, in_progress: 0 });
    expect(summary.slowest.map((s) => [s.taskId, s.durationMs])).toEqual([
      [slow, 2 * HOUR],
      [medium, 40 * MINUTE],
      [fast, 5 * MINUTE],
    ]);
    expect(summary.busiestAgents).toEqual([
      { instanceId: 'alpha', instanceName: 'ALPHA', claimed: 2, completed: 2, failed: 0 },
      { instanceId: 'gamma', instanceName: 'GAMMA', claimed: 1, completed: 1, failed: 0 },
      { instanceId: 'beta', instanceName: 'BETA', claimed: 1, completed: 0, failed: 1 },
    ]);

    const text = summaryText(summary, 'Europe/Paris');
    expect(text).toContain('Created 6 · completed 3 · failed 1');
    expect(text).toContain(`#${slow} 2h00 ALPHA — migrate the database`);
    expect(text).toContain('ALPHA: 2 completed, 0 failed, 2 claims');
    expect(text).toContain('1 finished task(s) will be purged within a day');
  });

  it('GET /api/summary answers the same in the wire format; it needs the API key', async () => {
    const id = await work('alpha', 90 * 1000, 'complete', 'write docs');
    const res = await t.get('/api/summary');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      created: 1,
      completed: 1,
      failed: 0,
      now: { completed: 1, pending: 0, oldest_pending_at: null },
      slowest: [{ task_id: id, description: 'write docs', instance_id: 'alpha', instance_name: 'ALPHA', duration_seconds: 90 }],
      busiest_agents: [{ instance_id: 'alpha', completed: 1, claimed: 1, failed: 0 }],
      purgeable_within_day: 0,
    });
    expect(new Date(res.json.to).getTime()).toBe(t.queue.now());
    expect((await t.get('/api/summary', {})).status).toBe(401);
  });

  it('an empty queue gives zeros, not errors', async () => {
    const summary = await buildDailySummary(t.queue, t.queue.now());
    expect(summary).toMatchObject({ created: 0, completed: 0, failed: 0, slowest: [], busiestAgents: [], oldestPendingAt: null, purgeableWithinDay: null });
  });
});
