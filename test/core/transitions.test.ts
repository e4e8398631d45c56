// Every task transition and its refusals, against each backend.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/refusals.js';
import type { TaskEvent } from '../../src/core/types.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

const agentA = { instanceId: 'host-a', instanceName: 'Agent A' };
const agentB = { instanceId: 'host-b', instanceName: 'Agent B' };

describe.each(backends)('transitions on $name', (backend) => {
  let t: TestQueue;
  let events: TaskEvent[];
  beforeEach(async () => {
    t = await openTestQueue(backend);
    events = [];
    t.bus.subscribe((e) => events.push(e));
  });
  afterEach(async () => t.cleanup());

  it('creates a pending task with defaults and logs it', async () => {
    const { task, created } = await t.queue.create({ description: '  fix the flaky login test ', submittedBy: 'alice' });
    expect(created).toBe(true);
    expect(task).toMatchObject({ description: 'fix the flaky login test', status: 'pending', priority: 'medium', submittedBy: 'alice', attempts: 0, maxAttempts: 3 });
    expect(events.map((e) => e.type)).toEqual(['created']);
    expect(events[0]!.task?.id).toBe(task.id);
    const { logs } = await t.queue.getWithLogs(task.id);
    expect(logs.map((l) => l.action)).toEqual(['created']);
  });

  it('refuses empty and oversized descriptions', async () => {
    expect(await codeOf(t.queue.create({ description: '   ' }))).toBe('INVALID');
    expect(await codeOf(t.queue.create({ description: 'x'.repeat(10_001) }))).toBe('INVALID');
  });

  it('claimNext takes the highest priority, then the oldest', async () => {
    const low = await t.queue.create({ description: 'low', priority: 'low' });
    const med1 = await t.queue.create({ description: 'med1' });
    const high = await t.queue.create({ description: 'high', priority: 'high' });
    const med2 = await t.queue.create({ description: 'med2' });
    const order: number[] = [];
    for (let i = 0; i < 4; i++) {
      const claimed = await t.queue.claimNext({ instanceId: `agent-${i}` });
      order.push(claimed!.id);
    }
    expect(order).toEqual([high.task.id, med1.task.id, med2.task.id, low.task.id]);
    expect(await t.queue.claimNext({ instanceId: 'agent-9' })).toBeNull();
  });

  it('claimNext returns a lease and marks the instance working', async () => {
    const { task } = await t.queue.create({ description: 'a' });
    const claimed = await t.queue.claimNext(agentA);
    expect(claimed).toMatchObject({ id: task.id, status: 'in_progress', instanceId: 'host-a', instanceName: 'Agent A', attempts: 1 });
    expect(claimed!.leaseToken).toMatch(/[0-9a-f-]{36}/);
    expect(claimed!.leaseExpiresAt).toBe(t.clock.now + 60_000);
    const [instance] = await t.queue.instances();
    expect(instance).toMatchObject({ id: 'host-a', name: 'Agent A', status: 'working', currentTaskId: task.id });
  });

  it("an agent's last_seen is at most 250 ms stale while busy; it comes back from offline at once", async () => {
    await t.queue.create({ description: 'a' });
    await t.queue.create({ description: 'b' });
    const start = t.clock.now;
    const first = (await t.queue.claimNext(agentA))!;
    t.clock.advance(100);
    await t.queue.complete(first.id, { leaseToken: first.leaseToken });
    const lastSeen = async () => (await t.queue.instances()).find((i) => i.id === 'host-a')!;
    // Within the window the row is not rewritten; what it holds is still current.
    expect(await lastSeen()).toMatchObject({ lastSeen: start, status: 'idle', currentTaskId: null });
    t.clock.advance(200);
    const second = (await t.queue.claimNext(agentA))!;
    expect(await lastSeen()).toMatchObject({ lastSeen: start + 300, status: 'working', currentTaskId: second.id });

    expect(await t.store.markInstancesOffline(t.clock.now + 1)).toEqual(['host-a']);
    expect((await lastSeen()).status).toBe('offline');
    await t.queue.heartbeat(second.id, { leaseToken: second.leaseToken });
    expect(await lastSeen()).toMatchObject({ status: 'working', lastSeen: start + 300 });
  });

  it('claim by id: 409 NOT_PENDING when already claimed, NOT_FOUND for unknown ids', async () => {
    const { task } = await t.queue.create({ description: 'a' });
    await t.queue.claim(task.id, agentA);
    expect(await codeOf(t.queue.claim(task.id, agentB))).toBe('NOT_PENDING');
    expect(await codeOf(t.queue.claim(9999, agentB))).toBe('NOT_FOUND');
  });

  it('enforces the WIP limit per instance', async () => {
    await t.queue.create({ description: 'a' });
    const second = await t.queue.create({ description: 'b' });
    await t.queue.claimNext(agentA);
    expect(await codeOf(t.queue.claimNext(agentA))).toBe('WIP_LIMIT');
    expect(await codeOf(t.queue.claim(second.task.id, agentA))).toBe('WIP_LIMIT');
    expect((await t.queue.claimNext(agentB))!.id).toBe(second.task.id);
  });

  it('heartbeat extends the lease; a stale token is refused', async () => {
    await t.queue.create({ description: 'a' });
    const claimed = (await t.queue.claimNext(agentA))!;
    t.clock.advance(30_000);
    const beat = await t.queue.heartbeat(claimed.id, { leaseToken: claimed.leaseToken });
    expect(beat.leaseExpiresAt).toBe(t.clock.now + 60_000);
    expect(await codeOf(t.queue.heartbeat(claimed.id, { leaseToken: 'not-the-token' }))).toBe('LEASE_MISMATCH');
  });

  it('complete with token or instance; reports the next task; refuses a second complete', async () => {
    const a = await t.queue.create({ description: 'a' });
    const b = await t.queue.create({ description: 'b' });
    const claimed = (await t.queue.claimNext(agentA))!;
    const task = await t.queue.complete(claimed.id, { leaseToken: claimed.leaseToken, notes: 'done', result: { pr: 12 } });
    expect(task).toMatchObject({ id: a.task.id, status: 'completed', notes: 'done', result: { pr: 12 }, completedAt: t.clock.now });
    expect(await t.queue.nextReadyId()).toBe(b.task.id);
    expect(await codeOf(t.queue.complete(claimed.id, { leaseToken: claimed.leaseToken }))).toBe('CONFLICT');

    const c2 = (await t.queue.claimNext(agentB))!;
    expect(await codeOf(t.queue.complete(c2.id, { instanceId: 'host-a' }))).toBe('LEASE_MISMATCH');
    expect((await t.queue.complete(c2.id, { instanceId: 'host-b' })).status).toBe('completed');
    expect(await codeOf(t.queue.complete(c2.id, {}))).toBe('INVALID');
    const [instanceB] = (await t.queue.instances()).filter((i) => i.id === 'host-b');
    expect(instanceB).toMatchObject({ status: 'idle', currentTaskId: null });
  });

  it('fencing: after the lease expires and another agent claims, the old holder is refused everywhere', async () => {
    const { task } = await t.queue.create({ description: 'a' });
    const first = (await t.queue.claimNext(agentA))!;
    t.clock.advance(61_000);
    expect(await t.queue.sweepExpiredLeases()).toEqual({ requeued: 1, failed: 0 });
    t.clock.advance(10 * 60_000); // past the retry backoff
    const second = (await t.queue.claimNext(agentB))!;
    expect(second.id).toBe(task.id);
    expect(second.attempts).toBe(2);
    // One at a time: started together, a later rejection would go unobserved until its turn.
    for (const call of [
      () => t.queue.complete(task.id, { leaseToken: first.leaseToken }),
      () => t.queue.heartbeat(task.id, { leaseToken: first.leaseToken }),
      () => t.queue.fail(task.id, { leaseToken: first.leaseToken, error: 'x' }),
      () => t.queue.release(task.id, { leaseToken: first.leaseToken }),
    ]) {
      expect(await codeOf(call())).toBe('LEASE_MISMATCH');
    }
    const after = await t.queue.get(task.id);
    expect(after).toMatchObject({ status: 'in_progress', instanceId: 'host-b' });
  });

  it('sweep: requeues with backoff, then fails after max attempts and keeps the error', async () => {
    const { task } = await t.queue.create({ description: 'a', maxAttempts: 2 });
    const first = (await t.queue.claimNext(agentA))!;
    t.clock.advance(60_001);
    await t.queue.sweepExpiredLeases();
    const requeued = await t.queue.get(task.id);
    expect(requeued.status).toBe('pending');
    // base 1000 ms * 2^0 * (0.5 + 0.5 jitter) = 1000 ms
    expect(requeued.runAfter).toBe(t.clock.now + 1000);
    expect(await t.queue.claimNext(agentB)).toBeNull(); // not before run_after
    t.clock.advance(1000);
    const second = (await t.queue.claimNext(agentB))!;
    expect(second.leaseToken).not.toBe(first.leaseToken);
    t.clock.advance(60_001);
    expect(await t.queue.sweepExpiredLeases()).toEqual({ requeued: 0, failed: 1 });
    const failed = await t.queue.get(task.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.error).toMatch(/lease expired/);
    const { logs } = await t.queue.getWithLogs(task.id);
    expect(logs.map((l) => l.action)).toEqual(['created', 'claimed', 'requeued', 'claimed', 'failed']);
  });

  it('sweep leaves live leases alone', async () => {
    await t.queue.create({ description: 'a' });
    const claimed = (await t.queue.claimNext(agentA))!;
    t.clock.advance(59_000);
    expect(await t.queue.sweepExpiredLeases()).toEqual({ requeued: 0, failed: 0 });
    expect((await t.queue.get(claimed.id)).status).toBe('in_progress');
  });

  it('fail without retry fails at once; with retry it backs off exponentially', async () => {
    const a = await t.queue.create({ description: 'a' });
    const ca = (await t.queue.claimNext(agentA))!;
    const failed = await t.queue.fail(ca.id, { leaseToken: ca.leaseToken, error: 'tests red' });
    expect(failed).toMatchObject({ id: a.task.id, status: 'failed', error: 'tests red' });

    const b = await t.queue.create({ description: 'b', maxAttempts: 3 });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
      const c = (await t.queue.claimNext(agentA))!;
      expect(c.id).toBe(b.task.id);
      const back = await t.queue.fail(c.id, { leaseToken: c.leaseToken, error: `flaky ${attempt}`, retry: true });
      expect(back.status).toBe('pending');
      delays.push(back.runAfter - t.clock.now);
      t.clock.advance(back.runAfter - t.clock.now);
    }
    expect(delays).toEqual([1000, 2000]);
    const last = (await t.queue.claimNext(agentA))!;
    const final = await t.queue.fail(last.id, { leaseToken: last.leaseToken, error: 'flaky 3', retry: true });
    expect(final).toMatchObject({ status: 'failed', error: 'flaky 3', attempts: 3 });
  });

  it('release puts the task back to pending for anyone', async () => {
    const { task } = await t.queue.create({ description: 'a' });
    const c = (await t.queue.claimNext(agentA))!;
    const released = await t.queue.release(c.id, { leaseToken: c.leaseToken, reason: 'out of time' });
    expect(released).toMatchObject({ status: 'pending', instanceId: null, leaseExpiresAt: null });
    expect((await t.queue.claimNext(agentB))!.id).toBe(task.id);
  });

  it('cancel works on pending and held tasks but not on finished ones', async () => {
    const a = await t.queue.create({ description: 'a' });
    expect((await t.queue.cancel(a.task.id, { user: 'bob' })).status).toBe('cancelled');
    expect(await codeOf(t.queue.cancel(a.task.id))).toBe('CONFLICT');
    const b = await t.queue.create({ description: 'b' });
    const c = (await t.queue.claimNext(agentA))!;
    expect((await t.queue.cancel(b.task.id)).status).toBe('cancelled');
    expect(await codeOf(t.queue.complete(c.id, { leaseToken: c.leaseToken }))).toBe('CONFLICT');
    const [instance] = await t.queue.instances();
    expect(instance!.status).toBe('idle');
  });

  it('setPriority reorders the queue', async () => {
    const a = await t.queue.create({ description: 'a', priority: 'low' });
    await t.queue.create({ description: 'b' });
    await t.queue.setPriority(a.task.id, 'high');
    expect((await t.queue.peekNext())!.id).toBe(a.task.id);
    expect((await t.queue.claimNext(agentA))!.id).toBe(a.task.id);
    await t.queue.complete(a.task.id, { instanceId: 'host-a' });
    expect(await codeOf(t.queue.setPriority(a.task.id, 'low'))).toBe('CONFLICT');
  });

  it('needs_input: ask pauses the lease, answer returns it to the same agent', async () => {
    const { task } = await t.queue.create({ description: 'a' });
    const c = (await t.queue.claimNext(agentA))!;
    const asked = await t.queue.askForInput(c.id, { leaseToken: c.leaseToken, question: 'Which branch?' });
    expect(asked).toMatchObject({ status: 'needs_input', question: 'Which branch?', leaseExpiresAt: null });
    t.clock.advance(10 * 60_000);
    expect(await t.queue.sweepExpiredLeases()).toEqual({ requeued: 0, failed: 0 });
    expect((await t.queue.heartbeat(c.id, { leaseToken: c.leaseToken })).status).toBe('needs_input');
    const answered = await t.queue.answer(task.id, { answer: 'main', by: 'carol' });
    expect(answered).toMatchObject({ status: 'in_progress', answer: 'main', instanceId: 'host-a', leaseExpiresAt: t.clock.now + 60_000 });
    expect((await t.queue.complete(c.id, { leaseToken: c.leaseToken })).status).toBe('completed');
    expect(await codeOf(t.queue.answer(task.id, { answer: 'late' }))).toBe('CONFLICT');
  });

  it('retry puts a failed task back with a fresh attempt budget', async () => {
    const { task } = await t.queue.create({ description: 'a', maxAttempts: 1 });
    const c = (await t.queue.claimNext(agentA))!;
    await t.queue.fail(c.id, { leaseToken: c.leaseToken, error: 'boom', retry: true });
    expect((await t.queue.get(task.id)).status).toBe('failed');
    const retried = await t.queue.retry(task.id, 'dave');
    expect(retried).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await codeOf(t.queue.retry(task.id))).toBe('CONFLICT');
  });

  it('stats count every state and list instances', async () => {
    await t.queue.create({ description: 'a' });
    await t.queue.create({ description: 'b' });
    const c = (await t.queue.claimNext(agentA))!;
    await t.queue.complete(c.id, { leaseToken: c.leaseToken });
    const stats = await t.queue.stats();
    expect(stats.byStatus).toMatchObject({ pending: 1, in_progress: 0, completed: 1, cancelled: 0 });
    expect(stats.total).toBe(2);
    expect(stats.instances.map((i) => i.id)).toEqual(['host-a']);
  });

  it('list filters and pages in both orders', async () => {
    for (let i = 0; i < 7; i++) await t.queue.create({ description: `task ${i}`, priority: i % 2 ? 'high' : 'low', labels: i < 3 ? ['web'] : [], project: i < 2 ? 'site' : null });
    const first = await t.queue.list({ status: ['pending'], order: 'queue', limit: 3 });
    const second = await t.queue.list({ status: ['pending'], order: 'queue', limit: 3, cursor: first.nextCursor! });
    const third = await t.queue.list({ status: ['pending'], order: 'queue', limit: 3, cursor: second.nextCursor! });
    const all = [...first.tasks, ...second.tasks, ...third.tasks].map((x) => x.description);
    expect(all).toEqual(['task 1', 'task 3', 'task 5', 'task 0', 'task 2', 'task 4', 'task 6']);
    expect(third.nextCursor).toBeNull();
    const newest = await t.queue.list({ order: 'newest', limit: 4 });
    const older = await t.queue.list({ order: 'newest', limit: 4, cursor: newest.nextCursor! });
    expect([...newest.tasks, ...older.tasks].map((x) => x.id)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect((await t.queue.list({ label: 'web' })).tasks).toHaveLength(3);
    expect((await t.queue.list({ project: 'site' })).tasks).toHaveLength(2);
    expect((await t.queue.list({ search: 'TASK 6' })).tasks.map((x) => x.description)).toEqual(['task 6']);
    expect((await t.queue.list({ search: '%' })).tasks).toHaveLength(0);
  });
});
