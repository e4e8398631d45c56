// Review over REST: create with review, complete to in_review, request changes, the next claim sees the feedback, accept.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';

describe.each(backends)('review routes on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend, { queue: { wipLimit: 0, review: { labels: [], projects: [], preferMs: 60_000 } } });
  });
  afterEach(async () => t.close());

  const claimNext = async (instance = 'a1') => (await t.call('POST', '/api/tasks/claim-next', { instance_id: instance })).json.task;

  it('in_review → changes → the same agent sees the feedback → in_review → accepted', async () => {
    const created = await t.call('POST', '/api/tasks', { description: 'fix the flaky login test', review: true });
    expect(created.json.task).toMatchObject({ review: true, review_feedback: null, runs: 0 });
    const first = await claimNext();
    const done = await t.call('POST', '/api/tasks/1/complete', { lease_token: first.lease_token, result: { branch: 'athena/task-1' } });
    expect(done.json).toMatchObject({ status: 'in_review', task: { status: 'in_review', completed_at: null } });

    const listed = await t.call('GET', '/api/tasks?status=in_review');
    expect(listed.json.tasks.map((x: { id: number }) => x.id)).toEqual([1]);
    expect((await t.call('GET', '/api/stats')).json).toMatchObject({ in_review: 1, completed: 0 });

    const changes = await t.call('POST', '/api/tasks/1/review', { decision: 'changes', feedback: 'still flaky on CI' });
    expect(changes.status).toBe(200);
    expect(changes.json.task).toMatchObject({ status: 'pending', review_feedback: 'still flaky on CI', attempts: 0, preferred_instance_id: 'a1' });
    expect(await claimNext('a2')).toBeNull();
    const second = await claimNext('a1');
    expect(second).toMatchObject({ id: 1, review_feedback: 'still flaky on CI', attempts: 1, runs: 2 });
    await t.call('POST', '/api/tasks/1/complete', { lease_token: second.lease_token });

    const accepted = await t.call('POST', '/api/tasks/1/review', { decision: 'accept' });
    expect(accepted.json).toMatchObject({ status: 'completed', task: { status: 'completed' } });
    const detail = await t.call('GET', '/api/tasks/1');
    expect(detail.json.logs.map((l: { action: string }) => l.action)).toEqual(['created', 'claimed', 'in_review', 'changes_requested', 'claimed', 'in_review', 'completed']);
    expect(detail.json.logs.at(-1).details).toBe('accepted by api');
  });

  it('refuses a bad review: unknown field, no feedback with changes, a task not in review', async () => {
    await t.call('POST', '/api/tasks', { description: 'x', review: true });
    const unknown = await t.call('POST', '/api/tasks/1/review', { decision: 'accept', comment: 'typo' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json)).toContain('comment');
    expect((await t.call('POST', '/api/tasks/1/review', { decision: 'maybe' })).status).toBe(400);
    const notInReview = await t.call('POST', '/api/tasks/1/review', { decision: 'accept' });
    expect(notInReview.status).toBe(409);
    expect(notInReview.json.error).toContain('pending');
    const task = await claimNext();
    await t.call('POST', '/api/tasks/1/complete', { lease_token: task.lease_token });
    const empty = await t.call('POST', '/api/tasks/1/review', { decision: 'changes', feedback: ' ' });
    expect(empty.status).toBe(400);
    expect((await t.call('POST', '/api/tasks/404/review', { decision: 'accept' })).status).toBe(404);
  });
});

describe.each(backends)('reviewer keys on $name', (backend) => {
  let k: KeyedApp;
  beforeEach(async () => {
    k = await openKeyedApp(backend, { queue: { wipLimit: 0, review: { labels: [], projects: [], preferMs: 60_000 } } });
  });
  afterEach(async () => k.close());

  const toReview = async (description: string) => {
    const id = (await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description, review: true })).json.task.id;
    const task = (await k.call(ADMIN_KEY, 'POST', '/api/tasks/claim-next', { instance_id: 'a1' })).json.task;
    await k.call(ADMIN_KEY, 'POST', `/api/tasks/${id}/complete`, { lease_token: task.lease_token });
    return id as number;
  };

  it('a reviewer reads and decides reviews, as itself; it administers nothing and does no agent work', async () => {
    const rosa = await k.issue('reviewer', 'rosa');
    const first = await toReview('needs a look');
    const second = await toReview('needs changes');

    expect((await k.call(rosa, 'GET', '/api/tasks?status=in_review')).json.tasks).toHaveLength(2);
    expect((await k.call(rosa, 'GET', `/api/tasks/${first}`)).status).toBe(200);
    expect((await k.call(rosa, 'GET', '/api/stats')).json).toMatchObject({ in_review: 2 });

    // `by` naming someone else is ignored: the key's name is recorded.
    const accepted = await k.call(rosa, 'POST', `/api/tasks/${first}/review`, { decision: 'accept', by: 'the boss' });
    expect(accepted.status).toBe(200);
    expect(accepted.json.task.status).toBe('completed');
    expect((await k.call(ADMIN_KEY, 'GET', `/api/tasks/${first}`)).json.logs.at(-1)).toMatchObject({ action: 'completed', details: 'accepted by rosa' });
    const changes = await k.call(rosa, 'POST', `/api/tasks/${second}/review`, { decision: 'changes', feedback: 'add a test' });
    expect(changes.json.task).toMatchObject({ status: 'pending', review_feedback: 'add a test' });

    const refused: Array<[string, string, unknown?]> = [
      ['POST', '/api/tasks', { description: 'from a reviewer' }],
      ['POST', '/api/tasks/claim-next', { instance_id: 'rosa' }],
      ['POST', `/api/tasks/${second}/cancel`, {}],
      ['POST', `/api/tasks/${second}/priority`, { priority: 'high' }],
      ['PATCH', `/api/tasks/${second}`, { description: 'edited' }],
      ['DELETE', `/api/tasks/${second}`],
      ['POST', `/api/tasks/${second}/comments`, { body: 'hi' }],
      ['POST', '/api/tasks/requeue-held', { instance_id: 'a1' }],
      ['POST', '/api/keys', { name: 'mine', role: 'admin' }],
      ['GET', '/api/keys'],
      ['GET', '/api/export'],
    ];
    for (const [method, url, body] of refused) {
      const res = await k.call(rosa, method, url, body);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.json).toMatchObject({ code: 'FORBIDDEN', error: `A reviewer key may not call ${method} ${url.replace(/\/\d+/, '/:id')}` });
    }
    expect((await k.call(ADMIN_KEY, 'GET', `/api/tasks/${second}`)).json.task).toMatchObject({ status: 'pending', priority: 'medium' });
  });

  it('reader and agent keys may not review; the admin and POST /api/keys create reviewer keys', async () => {
    const reader = await k.issue('reader', 'viewer');
    const agent = await k.issue('agent', 'bot-1', 'bot-1');
    const id = await toReview('not yours to decide');
    for (const key of [reader, agent]) expect((await k.call(key, 'POST', `/api/tasks/${id}/review`, { decision: 'accept' })).status).toBe(403);
    const created = await k.call(ADMIN_KEY, 'POST', '/api/keys', { name: 'lead', role: 'reviewer' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ role: 'reviewer', instance_id: null });
    expect((await k.call(created.json.key, 'POST', `/api/tasks/${id}/review`, { decision: 'accept' })).json.task.status).toBe('completed');
    // A reviewer key is a person's, not an agent's: it carries no instance id.
    expect((await k.call(ADMIN_KEY, 'POST', '/api/keys', { name: 'x', role: 'reviewer', instance_id: 'bot-9' })).status).toBe(400);
  });
});

