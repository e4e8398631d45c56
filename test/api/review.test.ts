// Review over REST: create with review, complete to in_review, request changes, the next claim sees the feedback, accept.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';

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
