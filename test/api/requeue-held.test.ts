// POST /api/tasks/requeue-held: an agent restarted under its instance id gives back what its previous process held; only its own.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/stores.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';

describe.each(backends)('requeue-held on $name', (backend) => {
  let k: KeyedApp;
  beforeEach(async () => {
    k = await openKeyedApp(backend, { queue: { wipLimit: 1, leaseMs: 10 * 60_000, retryBaseMs: 60_000 } });
  });
  afterEach(async () => k.close());

  it('an agent key gives back only its own instance\'s tasks: pending at once, the attempt used, logged; then it claims again', async () => {
    const bot1 = await k.issue('agent', 'bot-1', 'bot-1');
    const bot2 = await k.issue('agent', 'bot-2', 'bot-2');
    const reader = await k.issue('reader', 'viewer');
    await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'one' });
    await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'two' });
    expect((await k.call(bot1, 'POST', '/api/tasks/claim-next', {})).json.task.id).toBe(1);
    expect((await k.call(bot2, 'POST', '/api/tasks/claim-next', {})).json.task.id).toBe(2);
    // The restarted bot-1 is refused by its WIP limit until the old lease runs out (ten minutes here)…
    await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'three' });
    expect((await k.call(bot1, 'POST', '/api/tasks/claim-next', {})).json.code).toBe('WIP_LIMIT');

    // …and may not give back another instance's tasks, nor may a reader.
    const other = await k.call(bot1, 'POST', '/api/tasks/requeue-held', { instance_id: 'bot-2' });
    expect(other.status).toBe(403);
    expect(other.json.code).toBe('FORBIDDEN');
    expect((await k.call(reader, 'POST', '/api/tasks/requeue-held', { instance_id: 'bot-1' })).status).toBe(403);
    expect((await k.call(bot1, 'POST', '/api/tasks/requeue-held', { instance_id: 'bot-1', extra: 1 })).status).toBe(400);

    const mine = await k.call(bot1, 'POST', '/api/tasks/requeue-held', { reason: 'bot-1 restarted' });
    expect(mine.status).toBe(200);
    expect(mine.json.tasks).toEqual([expect.objectContaining({ task_id: 1, status: 'pending', previous_status: 'in_progress' })]);
    expect(mine.json.tasks[0].task).toMatchObject({ status: 'pending', instance_id: null, attempts: 1, lease_expires_at: null });
    const detail = (await k.call(ADMIN_KEY, 'GET', '/api/tasks/1')).json;
    expect(detail.logs.at(-1)).toMatchObject({ action: 'requeued', details: 'bot-1 restarted (attempt 1 of 3 used)', instance_id: 'bot-1' });
    expect((await k.call(ADMIN_KEY, 'GET', '/api/tasks/2')).json.task).toMatchObject({ status: 'in_progress', instance_id: 'bot-2' });

    // No retry delay: the task can be claimed again at once (the long retry base above would otherwise hold it back).
    expect((await k.call(bot1, 'POST', '/api/tasks/claim-next', {})).json.task).toMatchObject({ id: 1, attempts: 2 });
    // Nothing held from before any more: an empty answer.
    expect((await k.call(bot2, 'POST', '/api/tasks/requeue-held', {})).json.tasks).toHaveLength(1);
    expect((await k.call(bot2, 'POST', '/api/tasks/requeue-held', {})).json.tasks).toEqual([]);
  });

  it('a task on its last attempt fails; a task waiting for an answer goes back too; the admin key may act for any instance', async () => {
    await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'last try', max_attempts: 1 });
    await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'asked' });
    const last = (await k.call(ADMIN_KEY, 'POST', '/api/tasks/claim-next', { instance_id: 'gpu-1' })).json.task;
    const asked = (await k.call(ADMIN_KEY, 'POST', '/api/tasks/claim-next', { instance_id: 'gpu-2' })).json.task;
    await k.call(ADMIN_KEY, 'POST', `/api/tasks/${asked.id}/ask`, { lease_token: asked.lease_token, question: 'which branch?' });

    const r1 = await k.call(ADMIN_KEY, 'POST', '/api/tasks/requeue-held', { instance_id: 'gpu-1' });
    expect(r1.json.tasks).toEqual([expect.objectContaining({ task_id: last.id, status: 'failed', previous_status: 'in_progress' })]);
    expect(r1.json.tasks[0].task.error).toContain('no attempts left: attempt 1 of 1 used');
    const r2 = await k.call(ADMIN_KEY, 'POST', '/api/tasks/requeue-held', { instance_id: 'gpu-2' });
    expect(r2.json.tasks).toEqual([expect.objectContaining({ task_id: asked.id, status: 'pending', previous_status: 'needs_input' })]);
    expect(r2.json.tasks[0].task).toMatchObject({ question: null });
    // The old lease token no longer works.
    expect((await k.call(ADMIN_KEY, 'POST', `/api/tasks/${last.id}/heartbeat`, { lease_token: last.lease_token })).status).toBe(409);
  });
});
