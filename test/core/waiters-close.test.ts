// Claim waiters let go of the queue's event bus when closed, so a stopped server (or a test) leaves no listener behind.
import { afterEach, describe, expect, it } from 'vitest';
import { createClaimWaiters } from '../../src/core/waiters.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

describe.each(backends)('claim waiters on $name', (backend) => {
  let t: TestQueue | undefined;
  afterEach(async () => t?.cleanup());

  it('close() ends the waits and removes the bus subscription', async () => {
    t = await openTestQueue(backend);
    const bus = t.queue.bus;
    let listening = 0;
    const queue = Object.assign(Object.create(Object.getPrototypeOf(t.queue)), t.queue, {
      bus: {
        ...bus,
        subscribe(listener: Parameters<typeof bus.subscribe>[0]) {
          listening++;
          const off = bus.subscribe(listener);
          return () => {
            listening--;
            return off();
          };
        },
      },
    });
    const waiters = createClaimWaiters(queue);
    expect(listening).toBe(1);
    const waiting = waiters.claimOrWait({ instanceId: 'sleeper' }, 30_000);
    waiters.close();
    expect(await waiting).toBeNull();
    expect(listening).toBe(0);
  });
});

describe.each(backends)('claim waiters and scheduled tasks on $name', (backend) => {
  let t: TestQueue | undefined;
  afterEach(async () => t?.cleanup());

  it('a task that falls due between a failed claim and the look for the next run time is still handed out', async () => {
    t = await openTestQueue(backend);
    const q = t.queue;
    const clock = t.clock;
    await q.create({ description: 'soon', runAfter: clock.now + 1_000 });
    let calls = 0;
    // A slow round trip: the first claim looks before the task is due, and answers after it is.
    const queue = Object.assign(Object.create(Object.getPrototypeOf(q)), q, {
      async claimNext(agent: Parameters<typeof q.claimNext>[0]) {
        const claimed = await q.claimNext(agent);
        if (calls++ === 0) clock.advance(2_000);
        return claimed;
      },
    });
    const waiters = createClaimWaiters(queue);
    // 3 s of queue time, 1 s of it left after the slow claim: without a wake-up the wait ends empty.
    const task = await waiters.claimOrWait({ instanceId: 'w' }, 3_000);
    waiters.close();
    expect(task).toMatchObject({ description: 'soon', status: 'in_progress' });
    expect(calls).toBe(2);
  });
});
