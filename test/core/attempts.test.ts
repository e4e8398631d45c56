// The attempts rule: a claim starts an attempt; fail and an expired lease keep it used; a release gives
// it back; a task with no attempt left is never claimed but failed, saying why.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/core/queue.js';
import type { Store, TransitionSpec } from '../../src/core/ports.js';
import { backends, defaultQueueConfig, openTestQueue, type TestQueue } from '../helpers/stores.js';

describe.each(backends)('attempts on $name', (backend) => {
  let t: TestQueue;
  beforeEach(async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
  });
  afterEach(async () => t.cleanup());

  it('fail and an expired lease use an attempt; release does not; the last one fails the task', async () => {
    const { task } = await t.queue.create({ description: 'flaky', maxAttempts: 3 });
    let c = (await t.queue.claimNext({ instanceId: 'a' }))!;
    expect(c.attempts).toBe(1);
    expect(await t.queue.fail(task.id, { leaseToken: c.leaseToken, error: 'boom', retry: true })).toMatchObject({ status: 'pending', attempts: 1 });

    t.clock.advance(10_000);
    c = (await t.queue.claimNext({ instanceId: 'a' }))!;
    expect(c.attempts).toBe(2);
    expect(await t.queue.release(task.id, { leaseToken: c.leaseToken })).toMatchObject({ status: 'pending', attempts: 1 });

    c = (await t.queue.claimNext({ instanceId: 'a' }))!;
    expect(c.attempts).toBe(2);
    t.clock.advance(60_001);
    expect(await t.queue.sweepExpiredLeases()).toEqual({ requeued: 1, failed: 0 });
    expect(await t.queue.get(task.id)).toMatchObject({ status: 'pending', attempts: 2 });

    t.clock.advance(10_000);
    c = (await t.queue.claimNext({ instanceId: 'a' }))!;
    expect(c.attempts).toBe(3);
    const failed = await t.queue.fail(task.id, { leaseToken: c.leaseToken, error: 'boom again', retry: true });
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, maxAttempts: 3 });
    const { logs } = await t.queue.getWithLogs(task.id);
    expect(logs.at(-1)!.details).toBe('boom again (no attempts left: 3 of 3 used)');
  });

  it('a release from needs_input gives the attempt back too', async () => {
    const { task } = await t.queue.create({ description: 'ask first' });
    const c = (await t.queue.claimNext({ instanceId: 'a' }))!;
    await t.queue.askForInput(task.id, { leaseToken: c.leaseToken, question: 'which branch?' });
    expect(await t.queue.release(task.id, { leaseToken: c.leaseToken })).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('a task with no attempt left is never claimed: claim by id refuses and fails it, the sweeper fails the rest', async () => {
    await t.queue.create({ description: 'seed' });
    const data = await t.queue.exportAll();
    const spent = (id: number) => ({ ...data.tasks[0]!, id, description: `spent ${id}`, status: 'pending' as const, attempts: 2, maxAttempts: 2 });
    const other = await openTestQueue(backend, { wipLimit: 0 });
    try {
      await other.queue.importAll({ ...data, tasks: [spent(1), spent(2)], logs: [] });
      expect(await other.queue.claimNext({ instanceId: 'a' })).toBeNull();
      expect(await other.queue.peekNext()).toBeNull();

      const refused = await other.queue.claim(1, { instanceId: 'a' }).catch((e) => e);
      expect(refused).toMatchObject({ code: 'NOT_CLAIMABLE' });
      expect(refused.message).toMatch(/all its attempts are used \(2 of 2\)/);
      expect(await other.queue.get(1)).toMatchObject({ status: 'failed', attempts: 2, error: 'no attempts left: 2 of 2 used' });

      expect(await other.queue.sweepExpiredLeases()).toEqual({ requeued: 0, failed: 1 });
      expect(await other.queue.get(2)).toMatchObject({ status: 'failed', error: 'no attempts left: 2 of 2 used' });
    } finally {
      await other.cleanup();
    }
  });

  it('the expiry names the lease the task really had: the claim lease, or the last heartbeat lease', async () => {
    const a = await t.queue.create({ description: 'short lease' });
    const b = await t.queue.create({ description: 'renewed lease' });
    const ca = (await t.queue.claim(a.task.id, { instanceId: 'a', leaseMs: 120_000 }))!;
    const cb = (await t.queue.claim(b.task.id, { instanceId: 'b', leaseMs: 120_000 }))!;
    await t.queue.heartbeat(b.task.id, { leaseToken: cb.leaseToken, leaseMs: 300_000 });
    t.clock.advance(300_001);
    expect(await t.queue.sweepExpiredLeases()).toEqual({ requeued: 2, failed: 0 });
    expect(ca.leaseExpiresAt).toBe(ca.claimedAt! + 120_000);
    expect(await t.queue.get(a.task.id)).toMatchObject({ error: 'lease expired (no heartbeat within its 120s lease)' });
    expect(await t.queue.get(b.task.id)).toMatchObject({ error: 'lease expired (no heartbeat within its 300s lease)' });
  });

  it('fail decides from the attempts the task has when it writes, not from an earlier read', async () => {
    // The holder fails by instance id; between the fail's read and its write the lease expires, the
    // sweeper requeues the task and the same instance claims it again (attempt 2 of 2). The fail must
    // count from attempt 2 (no attempt left: failed), not from the attempt 1 it read.
    const { task } = await t.queue.create({ description: 'x', maxAttempts: 2 });
    await t.queue.claimNext({ instanceId: 'a' });
    let go!: () => void;
    const held = new Promise<void>((resolve) => (go = resolve));
    let reachedWrite!: () => void;
    const atWrite = new Promise<void>((resolve) => (reachedWrite = resolve));
    const slowStore: Store = Object.create(t.store, {
      transition: {
        value: async (spec: TransitionSpec) => {
          if (spec.instanceId === 'a' && spec.log.action === 'requeued') {
            reachedWrite();
            await held;
          }
          return t.store.transition(spec);
        },
      },
    });
    const slow = createQueue({ store: slowStore, bus: t.bus, config: { ...defaultQueueConfig, wipLimit: 0 }, clock: t.clock.fn, random: () => 0.5 });
    const failing = slow.fail(task.id, { instanceId: 'a', error: 'gave up', retry: true });
    await atWrite;
    t.clock.advance(60_001);
    expect(await t.queue.sweepExpiredLeases()).toEqual({ requeued: 1, failed: 0 });
    t.clock.advance(10_000);
    expect((await t.queue.claimNext({ instanceId: 'a' }))!.attempts).toBe(2);
    go();
    expect(await failing).toMatchObject({ status: 'failed', attempts: 2 });
    const { logs } = await t.queue.getWithLogs(task.id);
    expect(logs.map((l) => l.action)).toEqual(['created', 'claimed', 'requeued', 'claimed', 'failed']);
  });
});
