// The original Athena REST contract, exactly as existing agents and scripts use it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';

describe.each(backends)('original REST contract on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend);
  });
  afterEach(async () => t.close());

  it('GET /health needs no key and names the service', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    // Exactly the original answer: what each check found is behind the key (GET /api/health).
    expect(res.json()).toEqual({ status: 'healthy', service: 'athena-bot' });
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true });
    expect((await t.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(401);
    const detail = await t.call('GET', '/api/health');
    expect(detail.json).toEqual({ status: 'healthy', service: 'athena-bot', ready: true, checks: { database: { ok: true } } });
  });

  it('every /api route answers 401 {"error":"Invalid API key"} without a valid key', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/api/tasks'],
      ['POST', '/api/tasks'],
      ['GET', '/api/tasks/next'],
      ['POST', '/api/tasks/1/claim'],
      ['POST', '/api/tasks/1/complete'],
      ['GET', '/api/stats'],
      ['POST', '/api/tasks/claim-next'],
      ['GET', '/api/tasks/1'],
      ['GET', '/api/instances'],
      ['GET', '/api/export'],
    ];
    const bearer = await t.app.inject({ method: 'GET', url: '/api/stats', headers: { authorization: `Bearer ${TEST_KEY}` } });
    expect(bearer.statusCode).toBe(200);
    for (const [method, url] of routes) {
      for (const headers of [{}, { 'x-api-key': 'wrong' }, { 'x-api-key': `${TEST_KEY}x` }, { 'x-api-key': '' }]) {
        const res = await t.app.inject({ method: method as 'GET', url, headers });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json().error).toBe('Invalid API key');
      }
    }
    // Those were 20 wrong keys from one address: its next key, even the right one, is not compared.
    const blocked = await t.app.inject({ method: 'GET', url: '/api/stats', headers: { authorization: `Bearer ${TEST_KEY}` } });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('RATE_LIMITED');
  });

  it('POST /api/tasks -> 201 {"task_id","status":"pending"}', async () => {
    const res = await t.call('POST', '/api/tasks', { description: 'Test task', priority: 'low' });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ task_id: 1, status: 'pending' });
    expect(res.json.task).toMatchObject({ id: 1, description: 'Test task', priority: 'low', status: 'pending', submitted_by: 'api' });
    expect(res.json.task.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('GET /api/tasks lists pending tasks in queue order by default, with the original keys', async () => {
    await t.call('POST', '/api/tasks', { description: 'low one', priority: 'low' });
    await t.call('POST', '/api/tasks', { description: 'high one', priority: 'high' });
    await t.call('POST', '/api/tasks', { description: 'done one' });
    const claimed = await t.call('POST', '/api/tasks/3/claim', { instance_id: 'h', instance_name: 'H' });
    expect(claimed.status).toBe(200);
    const res = await t.call('GET', '/api/tasks');
    expect(res.status).toBe(200);
    expect(res.json.tasks.map((x: { description: string }) => x.description)).toEqual(['high one', 'low one']);
    const keys = Object.keys(res.json.tasks[0]);
    for (const key of ['id', 'description', 'status', 'priority', 'instance_id', 'instance_name', 'created_at', 'claimed_at', 'completed_at', 'notes', 'submitted_by']) {
      expect(keys).toContain(key);
    }
    expect(res.json.tasks[0]).not.toHaveProperty('lease_token');
    const inProgress = await t.call('GET', '/api/tasks?status=in_progress');
    expect(inProgress.json.tasks.map((x: { id: number }) => x.id)).toEqual([3]);
    const all = await t.call('GET', '/api/tasks?status=all');
    expect(all.json.tasks).toHaveLength(3);
  });

  it('GET /api/tasks/next peeks without claiming', async () => {
    expect((await t.call('GET', '/api/tasks/next')).json).toEqual({ task: null });
    await t.call('POST', '/api/tasks', { description: 'a' });
    const next = await t.call('GET', '/api/tasks/next');
    expect(next.json.task).toMatchObject({ id: 1, status: 'pending' });
    expect((await t.call('GET', '/api/tasks/next')).json.task.id).toBe(1);
  });

  it('GET /api/tasks/next shows callers polling together different tasks, for a moment', async () => {
    for (const d of ['a', 'b', 'c']) await t.call('POST', '/api/tasks', { description: d });
    const shown = async () => (await t.call('GET', '/api/tasks/next')).json.task.id;
    expect([await shown(), await shown(), await shown()]).toEqual([1, 2, 3]);
    expect(await shown()).toBe(1); // every task was just shown: the first in queue order, as before
    expect((await t.call('POST', '/api/tasks/2/claim', { instance_id: 'host-a' })).status).toBe(200);
    t.clock.advance(2_001);
    expect([await shown(), await shown(), await shown()]).toEqual([1, 3, 1]);
    // A caller naming its instance gets the same answer when it asks again.
    t.clock.advance(2_001);
    const mine = async (instance: string) => (await t.call('GET', `/api/tasks/next?instance_id=${instance}`)).json.task.id;
    expect([await mine('host-a'), await mine('host-a'), await mine('host-b'), await shown(), await mine('host-a')]).toEqual([1, 1, 3, 1, 1]);
    expect((await t.call('GET', `/api/tasks/next?instance_id=${'x'.repeat(201)}`)).status).toBe(400);
  });

  it('GET /api/tasks/next and next_task_id show only tasks a claim by id accepts', async () => {
    await t.call('POST', '/api/tasks', { description: 'not due yet', run_after: t.clock.now + 3_600_000 });
    await t.call('POST', '/api/tasks', { description: 'first step' });
    await t.call('POST', '/api/tasks', { description: 'second step', depends_on: [2] });
    const next = (await t.call('GET', '/api/tasks/next?instance_id=host-a')).json.task;
    expect(next).toMatchObject({ id: 2, description: 'first step' });
    const claim = await t.call('POST', '/api/tasks/2/claim', { instance_id: 'host-a' });
    expect((await t.call('POST', '/api/tasks/2/complete', { lease_token: claim.json.lease_token })).json.next_task_id).toBe(3);
    expect((await t.call('POST', '/api/tasks/1/claim', { instance_id: 'host-b' })).status).toBe(409);
    t.clock.advance(3_600_000);
    expect((await t.call('GET', '/api/tasks/next?instance_id=host-b')).json.task.id).toBe(1);
  });

  it('agents of the original protocol polling together do not lose claim races', async () => {
    const count = 40;
    for (let i = 0; i < count; i++) await t.call('POST', '/api/tasks', { description: `task ${i}` });
    const claimedBy = new Map<number, string>();
    let lost = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, agent) => {
        for (;;) {
          const peek = await t.call('GET', '/api/tasks/next');
          if (!peek.json.task) return;
          const claim = await t.call('POST', `/api/tasks/${peek.json.task.id}/claim`, { instance_id: `agent-${agent}` });
          if (claim.status === 409) {
            lost++;
            continue;
          }
          expect(claimedBy.has(claim.json.task_id)).toBe(false);
          claimedBy.set(claim.json.task_id, `agent-${agent}`);
          await t.call('POST', `/api/tasks/${claim.json.task_id}/complete`, { lease_token: claim.json.lease_token });
        }
      }),
    );
    expect(claimedBy.size).toBe(count);
    expect(new Set(claimedBy.values()).size).toBe(8);
    // Only at the end, when every pending task was just shown to someone, can two agents be shown
    // one task (without holds, nearly every round lost 7 of 8 claims: ~240 here).
    expect(lost).toBeLessThan(8);
  });

  it('claim -> {"status":"claimed","task_id"}; second claim 409; complete -> next_task_id', async () => {
    await t.call('POST', '/api/tasks', { description: 'first' });
    await t.call('POST', '/api/tasks', { description: 'second' });
    const claim = await t.call('POST', '/api/tasks/1/claim', { instance_id: 'host-a', instance_name: 'Agent A' });
    expect(claim.status).toBe(200);
    expect(claim.json).toMatchObject({ status: 'claimed', task_id: 1 });
    expect(claim.json.lease_token).toEqual(expect.any(String));
    const again = await t.call('POST', '/api/tasks/1/claim', { instance_id: 'host-b', instance_name: 'Agent B' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'NOT_PENDING' });
    expect(again.json.error).toMatch(/in_progress/);
    const done = await t.call('POST', '/api/tasks/1/complete', { instance_id: 'host-a', notes: 'Done!' });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ status: 'completed', task_id: 1, next_task_id: 2 });
    expect(done.json.task.notes).toBe('Done!');
  });

  it('GET /api/stats counts every state and lists instances', async () => {
    await t.call('POST', '/api/tasks', { description: 'a' });
    await t.call('POST', '/api/tasks', { description: 'b' });
    await t.call('POST', '/api/tasks/1/claim', { instance_id: 'host-a', instance_name: 'Agent A' });
    await t.call('POST', '/api/tasks/1/complete', { instance_id: 'host-a', notes: 'ok' });
    const stats = await t.call('GET', '/api/stats');
    expect(stats.json).toMatchObject({ pending: 1, in_progress: 0, completed: 1, cancelled: 0, failed: 0, total: 2 });
    expect(stats.json.instances).toEqual([expect.objectContaining({ id: 'host-a', name: 'Agent A', status: 'idle' })]);
  });
});
