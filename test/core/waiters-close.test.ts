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
