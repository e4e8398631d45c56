// GET /metrics after real operations, its auth switch, and /health turning "degraded" (still 200) when a loop or the database fails.
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteBackend } from '../helpers/stores.js';
import { openObservedApp, KEY, type ObservedApp } from './observed-app.js';
import { NOTIFIER_CURSOR } from '../../src/bot/notifier.js';

/** The value of one series in Prometheus text, e.g. value(text, 'athena_tasks{state="pending"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  let t: ObservedApp;
  afterEach(async () => t.close());

  it('GET /metrics shows queue state, transitions, claim latency, loops, outbox and HTTP series after real requests', async () => {
    t = await openObservedApp(sqliteBackend, {
      // The notifier's persisted cursor trails the newest event by 7.
      outboxBacklog: async () => (await t.store.lastEventId()) - ((await t.store.getCursor(NOTIFIER_CURSOR)) ?? 0),
    });
    const created: number[] = [];
    for (const description of ['a', 'b', 'c']) {
      const res = await t.send('POST', '/api/tasks', { description });
      expect(res.status).toBe(201);
      created.push(res.json.task_id);
    }
    t.clock.advance(30_000);
    const first = await t.send('POST', '/api/tasks/claim-next', { instance_id: 'host-a' });
    const second = await t.send('POST', '/api/tasks/claim-next', { instance_id: 'host-b' });
    expect((await t.send('POST', `/api/tasks/${first.json.task.id}/complete`, { lease_token: first.json.task.lease_token })).status).toBe(200);
    expect((await t.send('POST', `/api/tasks/${second.json.task.id}/fail`, { lease_token: second.json.task.lease_token, error: 'boom' })).status).toBe(200);
    expect((await t.get('/api/no-such-thing/42')).status).toBe(404);

    let loopRuns = 0;
    const stop = new AbortController();
    const loop = t.runner.start({ name: 'sweeper', schedule: { kind: 'interval', everyMs: 1000 }, run: async () => void loopRuns++ }, stop.signal);
    await loop.runNow();
    const broken = t.runner.start({ name: 'backup', schedule: { kind: 'interval', everyMs: 1000 }, run: async () => Promise.reject(new Error('disk full')) }, stop.signal);
    await broken.runNow();
    stop.abort();
    await t.store.setCursor(NOTIFIER_CURSOR, (await t.store.lastEventId()) - 7, t.clock.now);
    t.clock.advance(15_000);

    const res = await t.get('/metrics');
    expect(res.status).toBe(200);
    const text = res.body;
    expect(value(text, 'athena_tasks{state="pending"}')).toBe(1);
    expect(value(text, 'athena_tasks{state="completed"}')).toBe(1);
    expect(value(text, 'athena_tasks{state="failed"}')).toBe(1);
    expect(value(text, 'athena_database_up')).toBe(1);
    expect(value(text, 'athena_oldest_pending_task_age_seconds')).toBe(45);
    expect(value(text, 'athena_instances{status="idle"}')).toBe(2);
    expect(value(text, 'athena_tasks_created_total')).toBe(3);
    expect(value(text, 'athena_tasks_claimed_total')).toBe(2);
    expect(value(text, 'athena_tasks_completed_total')).toBe(1);
    expect(value(text, 'athena_tasks_failed_total')).toBe(1);
    // Both claims waited 30 s since creation.
    expect(value(text, 'athena_claim_latency_seconds_count')).toBe(2);
    expect(value(text, 'athena_claim_latency_seconds_sum')).toBe(60);
    expect(value(text, 'athena_claim_latency_seconds_bucket{le="15"}')).toBe(0);
    expect(value(text, 'athena_claim_latency_seconds_bucket{le="60"}')).toBe(2);
    expect(value(text, 'athena_loop_runs_total{loop="sweeper"}')).toBe(1);
    expect(value(text, 'athena_loop_runs_total{loop="backup"}')).toBe(1);
    expect(value(text, 'athena_loop_errors_total{loop="backup"}')).toBe(1);
    expect(value(text, 'athena_loop_duration_seconds_count{loop="sweeper"}')).toBe(1);
    expect(value(text, 'athena_loop_last_success_timestamp_seconds{loop="sweeper"}')).toBeGreaterThan(1.7e9);
    expect(value(text, 'athena_outbox_backlog')).toBe(7);
    // HTTP series carry the route pattern, never the raw URL (ids, typos) as a label.
    expect(value(text, 'athena_http_request_duration_seconds_count{method="POST",route="/api/tasks",status="201"}')).toBe(3);
    expect(value(text, 'athena_http_request_duration_seconds_count{method="POST",route="/api/tasks/:id/complete",status="200"}')).toBe(1);
    expect(value(text, 'athena_http_request_duration_seconds_count{method="GET",route="(unmatched)",status="404"}')).toBe(1);
    expect(text).not.toContain(`/api/tasks/${first.json.task.id}/complete`);
    expect(text).not.toContain('no-such-thing');
    expect(res.body).toContain('# TYPE athena_claim_latency_seconds histogram');
    expect(loopRuns).toBe(1);
  });

  it('a started loop shows zeroed counters before its first run', async () => {
    t = await openObservedApp(sqliteBackend);
    const stop = new AbortController();
    t.runner.start({ name: 'summary', schedule: { kind: 'daily', at: '09:00', timeZone: 'UTC' }, run: async () => {} }, stop.signal);
    const text = (await t.get('/metrics')).body;
    expect(value(text, 'athena_loop_runs_total{loop="summary"}')).toBe(0);
    expect(value(text, 'athena_loop_errors_total{loop="summary"}')).toBe(0);
    stop.abort();
  });

  it('needs the API key unless METRICS_AUTH=false', async () => {
    t = await openObservedApp(sqliteBackend);
    expect((await t.get('/metrics', {})).status).toBe(401);
    expect((await t.get('/metrics', { 'x-api-key': 'wrong-key-000000000' })).status).toBe(401);
    expect((await t.get('/metrics', { authorization: `Bearer ${KEY}` })).status).toBe(200);
    await t.close();

    t = await openObservedApp(sqliteBackend, { metricsAuth: false });
    const open = await t.get('/metrics', {});
    expect(open.status).toBe(200);
    expect(open.body).toContain('athena_tasks{state="pending"} 0');
    expect((await t.get('/api/stats', {})).status).toBe(401); // only /metrics is opened
  });

  it('/api/health says "degraded" (still 200) while a loop keeps failing, and healthy again after it recovers', async () => {
    t = await openObservedApp(sqliteBackend);
    let failing = true;
    const stop = new AbortController();
    const loop = t.runner.start(
      { name: 'retention', schedule: { kind: 'interval', everyMs: 1000 }, run: async () => { if (failing) throw new Error('database is locked'); } },
      stop.signal,
    );
    await loop.runNow();
    // Without a key, /health says only that something is wrong; the detail needs a key.
    expect((await t.get('/health', {})).json).toEqual({ status: 'degraded', service: 'athena-bot' });
    let health = await t.get('/api/health');
    expect(health.status).toBe(200);
    expect(health.json.status).toBe('degraded');
    expect(health.json.checks['loop:retention']).toEqual({ ok: false, detail: 'last 1 run(s) failed: database is locked' });
    expect(health.json.checks.database.ok).toBe(true);

    failing = false;
    await loop.runNow();
    health = await t.get('/api/health');
    expect(health.json.status).toBe('healthy');
    expect(health.json.checks['loop:retention'].ok).toBe(true);
    stop.abort();
  });

  it('a database that stops answering shows as athena_database_up 0 and /health degraded, without failing the scrape', async () => {
    t = await openObservedApp(sqliteBackend);
    await t.db.close();
    const res = await t.get('/metrics');
    expect(res.status).toBe(200);
    expect(value(res.body, 'athena_database_up')).toBe(0);
    const health = await t.get('/api/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'degraded', checks: { database: { ok: false } } });
    expect((await t.get('/health', {})).json).toEqual({ status: 'degraded', service: 'athena-bot' });
  });
});

describe('metrics of review', () => {
  let t: ObservedApp;
  afterEach(async () => t.close());

  it('count tasks in review, completions sent to review and changes requested', async () => {
    t = await openObservedApp(sqliteBackend, {});
    for (const description of ['a', 'b']) expect((await t.send('POST', '/api/tasks', { description, review: true })).status).toBe(201);
    for (const instance of ['host-a', 'host-b']) {
      const claimed = await t.send('POST', '/api/tasks/claim-next', { instance_id: instance });
      expect((await t.send('POST', `/api/tasks/${claimed.json.task.id}/complete`, { lease_token: claimed.json.task.lease_token })).json.status).toBe('in_review');
    }
    expect((await t.send('POST', '/api/tasks/1/review', { decision: 'changes', feedback: 'again' })).status).toBe(200);
    const text = (await t.get('/metrics')).body;
    expect(value(text, 'athena_tasks{state="in_review"}')).toBe(1);
    expect(value(text, 'athena_tasks_in_review_total')).toBe(2);
    expect(value(text, 'athena_tasks_changes_requested_total')).toBe(1);
    expect(value(text, 'athena_tasks_completed_total')).toBe(0);
  });
});
