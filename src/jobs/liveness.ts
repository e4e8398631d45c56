// Instance liveness loop: agents not seen for INSTANCE_OFFLINE_MINUTES are marked offline.
import type { Queue } from '../core/queue.js';
import type { LoopSpec } from './loop-runner.js';

/**
 * Marking an agent offline does not take its tasks away: they keep their leases, and the sweeper
 * requeues them when those expire, exactly as for an agent that is still "online" but silent.
 */
export function instanceLivenessLoop(queue: Pick<Queue, 'markInstancesOffline' | 'now' | 'heldBy'>, options: { offlineAfterMs: number }): LoopSpec {
  // Check often enough that an agent shows offline at most ~a quarter of the threshold late.
  const everyMs = Math.min(60_000, Math.max(1000, Math.round(options.offlineAfterMs / 4)));
  return {
    name: 'liveness',
    schedule: { kind: 'interval', everyMs },
    jitterMs: Math.min(1000, everyMs / 10),
    async run({ log }) {
      const offline = await queue.markInstancesOffline(queue.now() - options.offlineAfterMs);
      for (const instanceId of offline) {
        const held = await queue.heldBy(instanceId);
        log.child({ instanceId }).warn(
          { heldTaskIds: held.tasks.map((t) => t.id), offlineAfterMinutes: options.offlineAfterMs / 60_000 },
          held.tasks.length > 0 ? 'agent went offline holding tasks; they return to the queue when their leases expire' : 'agent went offline',
        );
      }
      return offline;
    },
  };
}
