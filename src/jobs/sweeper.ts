// Lease sweeper loop: requeues (or, after the last attempt, fails) tasks whose holder stopped heartbeating.
import type { Queue } from '../core/queue.js';
import type { LoopSpec } from './loop-runner.js';

export function leaseSweeperLoop(queue: Pick<Queue, 'sweepExpiredLeases'>, options: { everyMs: number }): LoopSpec {
  return {
    name: 'sweeper',
    schedule: { kind: 'interval', everyMs: options.everyMs },
    jitterMs: Math.min(1000, options.everyMs / 10),
    async run({ log }) {
      const swept = await queue.sweepExpiredLeases();
      if (swept.requeued + swept.failed > 0) log.info(swept, 'expired leases swept');
      return swept;
    },
  };
}
