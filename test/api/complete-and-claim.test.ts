// complete with `claim_next`: an agent that goes on working completes its task and is handed its next
// one in the same request (one request per task instead of two), with every rule of claim-next.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';

describe.each(backends)('complete with claim_next on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend, { queue: { wipLimit: 2 } });
  });
  afterEach(async () => t.close());

  const create = async (body: Record<string, unknown>) => (await t.call('POST', '/api/tasks', body)).json;
  const claimNext = async (body: Record<string, unknown>) => (await t.call('POST', '/api/tasks/claim-next', body)).json.task;
  const actions = async (id: number) => (await t.call('GET', `/api/tasks/${id}`)).json.logs.map((l: { action: string }) => l.action);

  it('completes the task and claims the best task this agent serves, with its own lease', async () => {
    await create({ description: 'first' });
    await create({ description: 'for a gpu agent', labels: ['gpu'], priority: 'high' });
    await create({ description: 'second' });
    const first = await claimNext({ instance_id: 'a1', labels: [] });
    expect(first.id).toBe(1);
    const done = await t.call('POST', '/api/tasks/1/complete', {
      lease_token: first.lease_token, instance_id: 'a1', notes: 'ok', claim_next: { instance_name: 'Agent 1', lease_seconds: 120 },
    });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ status: 'completed', task_id: 1, next_task_id: 3, task: { id: 1, status: 'completed', notes: 'ok' } });
    // Task 2 is ahead in priority but needs a label this agent does not serve.
    const next = done.json.next_task;
    expect(next).toMatchObject({ id: 3, status: 'in_progress', instance_id: 'a1', instance_name: 'Agent 1', attempts: 1 });
    expect(Date.parse(next.lease_expires_at) - t.clock.now).toBe(120_000);
    // The lease is a real one: it fences, heartbeats and completes like one from claim-next.
    expect((await t.call('POST', '/api/tasks/3/heartbeat', { lease_token: 'stale' })).status).toBe(409);
    expect((await t.call('POST', '/api/tasks/3/heartbeat', { lease_token: next.lease_token })).status).toBe(200);
    expect(await actions(1)).toEqual(['created', 'claimed', 'completed']);
    expect(await actions(3)).toEqual(['created', 'claimed', 'heartbeat']);
    const last = await t.call('POST', '/api/tasks/3/complete', { lease_token: next.lease_token, instance_id: 'a1', claim_next: { labels: ['gpu'] } });
    expect(last.json.next_task).toMatchObject({ id: 2, instance_id: 'a1' });
  });

  it('answers next_task null when nothing is ready for the agent; the completion stands', async () => {
    await create({ description: 'only' });
    await create({ description: 'later', run_after: t.clock.now + 60_000 });
    const task = await claimNext({ instance_id: 'a1' });
    const done = await t.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token, instance_id: 'a1', claim_next: {} });
    expect(done.json).toMatchObject({ status: 'completed', next_task_id: null, next_task: null });
    expect((await t.call('GET', `/api/tasks/${task.id}`)).json.task.status).toBe('completed');
  });

  it('keeps the WIP limit: an agent at its limit still completes, and is handed no task past it', async () => {
    for (const description of ['one', 'two', 'three']) await create({ description });
    const one = await claimNext({ instance_id: 'a1' });
    await claimNext({ instance_id: 'a1' });
    // Holding two (the limit): completing one leaves room for exactly one more.
    const done = await t.call('POST', `/api/tasks/${one.id}/complete`, { lease_token: one.lease_token, instance_id: 'a1', claim_next: {} });
    expect(done.json.next_task).toMatchObject({ id: 3, instance_id: 'a1' });
    const held = (await t.call('GET', '/api/tasks?status=in_progress')).json.tasks.map((x: { id: number }) => x.id);
    expect(held.sort()).toEqual([2, 3]);
  });

  it('without claim_next the answer is the original one, with no next_task key', async () => {
    await create({ description: 'one' });
    await create({ description: 'two' });
    const task = await claimNext({ instance_id: 'a1' });
    const done = await t.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token });
    expect(done.json).toMatchObject({ status: 'completed', next_task_id: 2 });
    expect('next_task' in done.json).toBe(false);
    expect((await t.call('GET', '/api/tasks/2')).json.task.status).toBe('pending');
  });

  it('refuses claim_next without the agent it claims for, or with a field claim-next does not take, and completes nothing', async () => {
    await create({ description: 'one' });
    await create({ description: 'two' });
    const task = await claimNext({ instance_id: 'a1' });
    const nameless = await t.call('POST', '/api/tasks/1/complete', { lease_token: task.lease_token, claim_next: {} });
    expect(nameless.status).toBe(400);
    expect(JSON.stringify(nameless.json)).toContain('instance_id');
    const waiting = await t.call('POST', '/api/tasks/1/complete', { lease_token: task.lease_token, instance_id: 'a1', claim_next: { wait: 30 } });
    expect(waiting.status).toBe(400);
    expect(JSON.stringify(waiting.json)).toContain('wait');
    const badLabel = await t.call('POST', '/api/tasks/1/complete', { lease_token: task.lease_token, instance_id: 'a1', claim_next: { labels: ['no spaces allowed'] } });
    expect(badLabel.status).toBe(400);
    expect((await t.call('GET', '/api/tasks/1')).json.task.status).toBe('in_progress');
    expect((await t.call('GET', '/api/tasks/2')).json.task.status).toBe('pending');
  });

  it('agents that go on with claim_next, all at once: every task claimed once and completed once, within WIP_LIMIT 1', async () => {
    // With a limit of one, a claim that came before its agent's completion had committed would be
    // refused (next_task null): that agent would stop early and leave tasks pending.
    await t.close();
    t = await openTestApp(backend, { queue: { wipLimit: 1 } });
    const tasks = 240;
    const agents = 16;
    for (let i = 0; i < tasks; i++) await create({ description: `task ${i}`, priority: (['high', 'medium', 'low'] as const)[i % 3] });
    const claims = new Map<number, string[]>();
    const took = (id: number, agent: string) => claims.set(id, [...(claims.get(id) ?? []), agent]);
    await Promise.all(
      Array.from({ length: agents }, async (_, i) => {
        const me = `racer-${i}`;
        let task = await claimNext({ instance_id: me });
        while (task) {
          took(task.id, me);
          const done = await t.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token, instance_id: me, claim_next: {} });
          expect(done.status, JSON.stringify(done.json)).toBe(200);
          task = done.json.next_task;
        }
      }),
    );
    expect([...claims.values()].filter((by) => by.length > 1)).toEqual([]);
    expect(claims.size).toBe(tasks);
    expect(new Set([...claims.values()].map((by) => by[0])).size).toBeGreaterThan(agents / 2);
    const stats = (await t.call('GET', '/api/stats')).json;
    expect(stats).toMatchObject({ completed: tasks, pending: 0, in_progress: 0 });
    for (let id = 1; id <= tasks; id += 47) expect(await actions(id)).toEqual(['created', 'claimed', 'completed']);
  });

  it('fail takes claim_next too: the failure (retried later, or final) stands and the next task comes with it', async () => {
    await create({ description: 'flaky', max_attempts: 2 });
    await create({ description: 'next one' });
    const task = await claimNext({ instance_id: 'a1' });
    const failed = await t.call('POST', `/api/tasks/${task.id}/fail`, { lease_token: task.lease_token, instance_id: 'a1', error: 'timeout', retry: true, claim_next: {} });
    expect(failed.status).toBe(200);
    // The failed task waits for its backoff: the next one is claimed instead.
    expect(failed.json).toMatchObject({ status: 'pending', task_id: task.id, task: { error: 'timeout', attempts: 1 }, next_task: { id: 2, instance_id: 'a1' } });
    const last = await t.call('POST', '/api/tasks/2/fail', { lease_token: failed.json.next_task.lease_token, instance_id: 'a1', error: 'broken', claim_next: {} });
    expect(last.json).toMatchObject({ status: 'failed', next_task: null });
    const plain = await t.call('POST', `/api/tasks/${task.id}/fail`, { lease_token: 'stale', instance_id: 'a1' });
    expect(plain.status).toBe(409);
    expect((await t.call('POST', '/api/tasks/2/retry')).status).toBe(200);
    const again = await claimNext({ instance_id: 'a1' });
    const answer = await t.call('POST', `/api/tasks/${again.id}/fail`, { lease_token: again.lease_token, error: 'x' });
    expect('next_task' in answer.json).toBe(false);
    expect((await t.call('POST', `/api/tasks/1/fail`, { lease_token: 'x', claim_next: {} })).status).toBe(400);
  });

  it('a stale lease completes nothing and claims nothing', async () => {
    await create({ description: 'one' });
    await create({ description: 'two' });
    await claimNext({ instance_id: 'a1' });
    const res = await t.call('POST', '/api/tasks/1/complete', { lease_token: 'stale', instance_id: 'a1', claim_next: {} });
    expect(res.status).toBe(409);
    expect((await t.call('GET', '/api/tasks/2')).json.task.status).toBe('pending');
  });
});

describe.each(backends)('complete with claim_next under an agent key on $name', (backend) => {
  let k: KeyedApp | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it("claims as the key's own instance, never another", async () => {
    k = await openKeyedApp(backend);
    const agent = await k.issue('agent', 'builder-1', 'host-7');
    for (const description of ['one', 'two']) expect((await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description })).status).toBe(201);
    const task = (await k.call(agent, 'POST', '/api/tasks/claim-next', {})).json.task;
    expect(task.instance_id).toBe('host-7');
    const other = await k.call(agent, 'POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token, instance_id: 'host-8', claim_next: {} });
    expect(other.status).toBe(403);
    const done = await k.call(agent, 'POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token, claim_next: {} });
    expect(done.status).toBe(200);
    expect(done.json.next_task).toMatchObject({ id: 2, instance_id: 'host-7' });
  });
});
