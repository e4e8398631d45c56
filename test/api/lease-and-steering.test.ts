// The lease protocol and steering routes over HTTP: claim-next, heartbeat, fail, release, ask/answer,
// priority, cancel, retry, dependencies, idempotent create, bulk actions, export/import.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';

describe.each(backends)('lease and steering routes on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend);
  });
  afterEach(async () => t.close());

  const create = async (body: Record<string, unknown>) => (await t.call('POST', '/api/tasks', body)).json;
  const claimNext = async (body: Record<string, unknown> = { instance_id: 'a1', instance_name: 'Agent 1' }) => (await t.call('POST', '/api/tasks/claim-next', body)).json.task;

  it('claim-next -> heartbeat -> complete with the lease token', async () => {
    await create({ description: 'one' });
    const task = await claimNext({ instance_id: 'a1', instance_name: 'Agent 1', lease_seconds: 120 });
    expect(task).toMatchObject({ id: 1, status: 'in_progress', instance_id: 'a1', attempts: 1 });
    expect(Date.parse(task.lease_expires_at) - t.clock.now).toBe(120_000);
    t.clock.advance(60_000);
    const beat = await t.call('POST', '/api/tasks/1/heartbeat', { lease_token: task.lease_token, progress: 'half way' });
    expect(beat.status).toBe(200);
    expect(Date.parse(beat.json.lease_expires_at) - t.clock.now).toBe(60_000);
    const done = await t.call('POST', '/api/tasks/1/complete', { lease_token: task.lease_token, notes: 'ok', result: { files: 3 } });
    expect(done.json).toMatchObject({ status: 'completed', next_task_id: null });
    const detail = await t.call('GET', '/api/tasks/1');
    expect(detail.json.task).toMatchObject({ status: 'completed', notes: 'ok', result: { files: 3 } });
    expect(detail.json.logs.map((l: { action: string }) => l.action)).toEqual(['created', 'claimed', 'heartbeat', 'completed']);
    expect(detail.json.logs[2].details).toBe('half way');
  });

  it('stale lease tokens are fenced with 409 LEASE_MISMATCH', async () => {
    await create({ description: 'one' });
    const task = await claimNext();
    for (const path of ['heartbeat', 'complete', 'fail', 'release']) {
      const res = await t.call('POST', `/api/tasks/1/${path}`, { lease_token: 'stale' });
      expect(res.status, path).toBe(409);
      expect(res.json.code).toBe('LEASE_MISMATCH');
    }
    expect((await t.call('GET', '/api/tasks/1')).json.task.status).toBe('in_progress');
    expect((await t.call('POST', '/api/tasks/1/release', { lease_token: task.lease_token })).json.status).toBe('pending');
  });

  it('WIP limit -> 409 WIP_LIMIT', async () => {
    await create({ description: 'one' });
    await create({ description: 'two' });
    await claimNext();
    const res = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a1' });
    expect(res.status).toBe(409);
    expect(res.json.code).toBe('WIP_LIMIT');
  });

  it('fail with retry requeues with backoff, attempts in the log; fail without retry fails', async () => {
    await create({ description: 'flaky', max_attempts: 2 });
    let task = await claimNext();
    const failed = await t.call('POST', '/api/tasks/1/fail', { lease_token: task.lease_token, error: 'timeout', retry: true });
    expect(failed.json.task).toMatchObject({ status: 'pending', error: 'timeout', attempts: 1 });
    expect(Date.parse(failed.json.task.run_after)).toBeGreaterThan(t.clock.now);
    t.clock.advance(10_000);
    task = await claimNext();
    const final = await t.call('POST', '/api/tasks/1/fail', { lease_token: task.lease_token, error: 'timeout again', retry: true });
    expect(final.json.task).toMatchObject({ status: 'failed', error: 'timeout again', attempts: 2 });
    const logs = (await t.call('GET', '/api/tasks/1')).json.logs.map((l: { action: string }) => l.action);
    expect(logs).toEqual(['created', 'claimed', 'requeued', 'claimed', 'failed']);
    const retried = await t.call('POST', '/api/tasks/1/retry');
    expect(retried.json.task).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('ask -> needs_input -> answer -> back to the same agent', async () => {
    await create({ description: 'question' });
    const task = await claimNext();
    const asked = await t.call('POST', '/api/tasks/1/ask', { lease_token: task.lease_token, question: 'Which DB?' });
    expect(asked.json.task).toMatchObject({ status: 'needs_input', question: 'Which DB?' });
    const hb = await t.call('POST', '/api/tasks/1/heartbeat', { lease_token: task.lease_token });
    expect(hb.json.task.status).toBe('needs_input');
    const answered = await t.call('POST', '/api/tasks/1/answer', { answer: 'Postgres', by: 'alice' });
    expect(answered.json.task).toMatchObject({ status: 'in_progress', answer: 'Postgres', instance_id: 'a1' });
    const hb2 = await t.call('POST', '/api/tasks/1/heartbeat', { lease_token: task.lease_token });
    expect(hb2.json.task.answer).toBe('Postgres');
    expect((await t.call('POST', '/api/tasks/1/answer', { answer: 'again' })).status).toBe(409);
  });

  it('priority via PATCH, cancel, and their refusals', async () => {
    await create({ description: 'a', priority: 'low' });
    await create({ description: 'b' });
    const patched = await t.call('PATCH', '/api/tasks/1', { priority: 'high' });
    expect(patched.json).toMatchObject({ priority: 'high' });
    expect((await t.call('GET', '/api/tasks/next')).json.task.id).toBe(1);
    expect((await t.call('POST', '/api/tasks/2/priority', { priority: 'low' })).json.priority).toBe('low');
    expect((await t.call('POST', '/api/tasks/1/cancel', { by: 'bob', reason: 'dup' })).json.status).toBe('cancelled');
    const again = await t.call('POST', '/api/tasks/1/cancel');
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('CONFLICT');
    expect((await t.call('PATCH', '/api/tasks/1', { priority: 'low' })).status).toBe(409);
  });

  it('Idempotency-Key header: same key -> 200 with the same task', async () => {
    const first = await t.call('POST', '/api/tasks', { description: 'once' }, { 'idempotency-key': 'abc' });
    const second = await t.call('POST', '/api/tasks', { description: 'once' }, { 'idempotency-key': 'abc' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ task_id: first.json.task_id, created: false });
    const byField = await t.call('POST', '/api/tasks', { description: 'once', idempotency_key: 'abc' });
    expect(byField.json.task_id).toBe(first.json.task_id);
    expect((await t.call('GET', '/api/stats')).json.total).toBe(1);
    const other = await t.call('POST', '/api/tasks', { description: 'twice' }, { 'idempotency-key': 'abc' });
    expect(other.status).toBe(422);
    expect(other.json).toMatchObject({ code: 'IDEMPOTENCY_MISMATCH', details: { field: 'description', taskId: first.json.task_id } });
    expect(other.json.error).toMatch(/description differs/);
  });

  it('dependencies of an unknown task -> 404, of a started one -> 409', async () => {
    await create({ description: 'a' });
    expect((await t.call('POST', '/api/tasks/99/dependencies', { depends_on: [1] })).json).toMatchObject({ code: 'NOT_FOUND' });
    await create({ description: 'b' });
    await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a1' });
    const started = await t.call('POST', '/api/tasks/1/dependencies', { depends_on: [2] });
    expect(started.status).toBe(409);
  });

  it('dependencies: unknown ids and cycles -> 422 with a clear code', async () => {
    expect((await t.call('POST', '/api/tasks', { description: 'x', depends_on: [42] })).json).toMatchObject({ code: 'UNKNOWN_DEPENDENCY' });
    await create({ description: 'a' });
    await create({ description: 'b', depends_on: [1] });
    const cycle = await t.call('POST', '/api/tasks/1/dependencies', { depends_on: [2] });
    expect(cycle.status).toBe(422);
    expect(cycle.json.code).toBe('DEPENDENCY_CYCLE');
    const blocked = await t.call('POST', '/api/tasks/1/cancel');
    expect(blocked.status).toBe(200);
    expect((await t.call('GET', '/api/tasks/2')).json.task).toMatchObject({ status: 'blocked', blocked_reason: 'dependency #1 is cancelled' });
  });

  it('bulk actions return counts and are logged', async () => {
    await create({ description: 'a', labels: ['web'] });
    await create({ description: 'b', labels: ['web'] });
    await create({ description: 'c' });
    const res = await t.call('POST', '/api/tasks/cancel-pending', { label: 'web', by: 'ops' });
    expect(res.json).toEqual({ count: 2 });
    const logs = (await t.call('GET', '/api/tasks/1')).json.logs;
    expect(logs.at(-1)).toMatchObject({ action: 'cancelled', details: 'bulk cancel by ops' });
    expect((await t.call('POST', '/api/tasks/retry-failed', {})).json).toEqual({ count: 0 });
    t.clock.advance(3 * 86_400_000);
    expect((await t.call('POST', '/api/tasks/purge', { older_than_days: 2 })).json).toEqual({ count: 2 });
    expect((await t.call('POST', '/api/tasks/purge', { older_than_days: -1 })).status).toBe(400);
  });

  it('export then import into an empty server', async () => {
    await create({ description: 'a' });
    await create({ description: 'b', labels: ['x'] });
    const exported = await t.call('GET', '/api/export');
    expect(exported.json.tasks).toHaveLength(2);
    const other = await openTestApp(backend);
    try {
      const imported = await other.call('POST', '/api/import', exported.json);
      expect(imported.json).toMatchObject({ tasks: 2 });
      expect((await other.call('GET', '/api/tasks')).json.tasks.map((x: { description: string }) => x.description)).toEqual(['a', 'b']);
      expect((await other.call('POST', '/api/import', exported.json)).status).toBe(409);
      expect((await other.call('POST', '/api/import', { version: 2 })).status).toBe(400);
    } finally {
      await other.close();
    }
  });

  it('instances show who works on what', async () => {
    await create({ description: 'a' });
    await claimNext({ instance_id: 'a1', instance_name: 'Agent 1' });
    const res = await t.call('GET', '/api/instances');
    expect(res.json.instances).toEqual([expect.objectContaining({ id: 'a1', name: 'Agent 1', status: 'working', current_task_id: 1 })]);
  });

  it('serves an OpenAPI document describing the routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/api/tasks', '/api/tasks/claim-next', '/api/tasks/{id}/heartbeat', '/api/stats']) expect(doc.paths).toHaveProperty([path]);
    expect(doc.paths['/api/tasks'].post.requestBody).toBeDefined();
  });
});
