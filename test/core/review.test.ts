// Review: completion to in_review, accept and request changes, the agent preference, on each backend.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/refusals.js';
import type { TaskEvent } from '../../src/core/types.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';
import { buildDailySummary, summaryText } from '../../src/jobs/summary.js';

const agentA = { instanceId: 'host-a', instanceName: 'Agent A' };
const agentB = { instanceId: 'host-b', instanceName: 'Agent B' };
const PREFER_MS = 600_000;

describe.each(backends)('review on $name', (backend) => {
  let t: TestQueue;
  let events: TaskEvent[];
  beforeEach(async () => {
    t = await openTestQueue(backend, { wipLimit: 0, review: { labels: ['needs-review'], projects: ['web'], preferMs: PREFER_MS } });
    events = [];
    t.bus.subscribe((e) => events.push(e));
  });
  afterEach(async () => t.cleanup());

  async function claimAndComplete(agent = agentA) {
    const claimed = (await t.queue.claimNext(agent))!;
    return t.queue.complete(claimed.id, { leaseToken: claimed.leaseToken, notes: 'done', result: { branch: 'athena/task-1' } });
  }

  it('a task that requires review goes to in_review when completed, then accept completes it', async () => {
    const { task } = await t.queue.create({ description: 'fix the login test', review: true });
    expect(task.review).toBe(true);
    const done = await claimAndComplete();
    expect(done).toMatchObject({ status: 'in_review', completedAt: null, notes: 'done', result: { branch: 'athena/task-1' }, leaseExpiresAt: null });
    expect((await t.queue.stats()).byStatus.in_review).toBe(1);
    const summary = await buildDailySummary(t.queue, t.queue.now());
    expect(summary.byStatus.in_review).toBe(1);
    expect(summaryText(summary)).toContain('1 in review');
    expect(events.map((e) => e.type)).toEqual(['created', 'claimed', 'in_review']);

    const accepted = await t.queue.review(task.id, { decision: 'accept', by: 'alice' });
    expect(accepted).toMatchObject({ status: 'completed', completedAt: t.clock.now });
    expect(events.at(-1)).toMatchObject({ type: 'completed', details: 'accepted by alice' });
    expect(await codeOf(t.queue.review(task.id, { decision: 'accept' }))).toBe('CONFLICT');
  });

  it('a task without review completes as before', async () => {
    const { task } = await t.queue.create({ description: 'plain' });
    expect(task.review).toBe(false);
    expect((await claimAndComplete()).status).toBe('completed');
    expect(await codeOf(t.queue.review(task.id, { decision: 'accept' }))).toBe('CONFLICT');
  });

  it('review follows REVIEW_REQUIRED_LABELS and _PROJECTS unless the create says otherwise', async () => {
    expect((await t.queue.create({ description: 'a', labels: ['needs-review'] })).task.review).toBe(true);
    expect((await t.queue.create({ description: 'b', project: 'web' })).task.review).toBe(true);
    expect((await t.queue.create({ description: 'c', project: 'web', review: false })).task.review).toBe(false);
    expect((await t.queue.create({ description: 'd', project: 'api' })).task.review).toBe(false);
  });

  it('changes: pending again with the feedback, no attempt used, the same agent first, then anyone', async () => {
    const { task } = await t.queue.create({ description: 'fix it', review: true, maxAttempts: 1 });
    await claimAndComplete(agentA);
    expect(await codeOf(t.queue.review(task.id, { decision: 'changes', feedback: '  ' }))).toBe('INVALID');
    const back = await t.queue.review(task.id, { decision: 'changes', feedback: 'the test still flakes', by: 'alice' });
    expect(back).toMatchObject({ status: 'pending', reviewFeedback: 'the test still flakes', attempts: 0, instanceId: null, preferredInstanceId: 'host-a' });
    expect(events.at(-1)).toMatchObject({ type: 'changes_requested', details: 'by alice: the test still flakes' });

    // Another agent skips it while the window lasts, by claim-next and by id.
    expect(await t.queue.claimNext(agentB)).toBeNull();
    expect(await codeOf(t.queue.claim(task.id, agentB))).toBe('NOT_CLAIMABLE');
    const again = (await t.queue.claimNext(agentA))!;
    expect(again).toMatchObject({ id: task.id, attempts: 1, runs: 2, reviewFeedback: 'the test still flakes' });
    const second = await t.queue.complete(task.id, { leaseToken: again.leaseToken });
    expect(second.status).toBe('in_review');

    await t.queue.review(task.id, { decision: 'changes', feedback: 'one more thing' });
    t.clock.advance(PREFER_MS - 1);
    expect(await t.queue.claimNext(agentB)).toBeNull();
    t.clock.advance(1);
    expect(await t.queue.claimNext(agentB)).toMatchObject({ id: task.id, reviewFeedback: 'one more thing', runs: 3 });
  });

  it('a review refused for a task not in review names its state; unknown tasks are not found', async () => {
    const { task } = await t.queue.create({ description: 'x', review: true });
    expect(await codeOf(t.queue.review(task.id, { decision: 'changes', feedback: 'no' }))).toBe('CONFLICT');
    expect(await codeOf(t.queue.review(9999, { decision: 'accept' }))).toBe('NOT_FOUND');
  });

  it('completion of a review task still checks the lease', async () => {
    const { task } = await t.queue.create({ description: 'x', review: true });
    await t.queue.claimNext(agentA);
    expect(await codeOf(t.queue.complete(task.id, { leaseToken: 'not-the-token' }))).toBe('LEASE_MISMATCH');
    expect((await t.queue.get(task.id)).status).toBe('in_progress');
  });

  it('a task in review can be cancelled, and its dependants wait until it is accepted', async () => {
    const { task } = await t.queue.create({ description: 'first', review: true });
    const { task: next } = await t.queue.create({ description: 'second', dependsOn: [task.id] });
    await claimAndComplete(agentA);
    expect(await t.queue.claimNext(agentB)).toBeNull();
    await t.queue.review(task.id, { decision: 'accept' });
    expect((await t.queue.claimNext(agentB))?.id).toBe(next.id);
    const { task: other } = await t.queue.create({ description: 'third', review: true });
    await claimAndComplete(agentA);
    expect((await t.queue.cancel(other.id)).status).toBe('cancelled');
  });
});
