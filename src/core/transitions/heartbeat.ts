// heartbeat: the holder extends its lease (and may report progress).
import type { Task } from '../types.js';
import type { Fence, TransitionKit } from './kit.js';

export function heartbeatTransition(kit: TransitionKit) {
  const { store, now } = kit;
  return {
    async heartbeat(id: number, fence: Fence & { leaseMs?: number | null; progress?: string | null }): Promise<Task> {
      const spec = kit.fenceOf(fence, 'heartbeat');
      const leaseMs = kit.leaseLength(fence.leaseMs);
      // Twice at most: a task answered between the refused heartbeat and the read below is in
      // progress again, and its holder's heartbeat is due.
      for (let tries = 1; ; tries++) {
        const t = now();
        try {
          return await kit.run(
            {
              taskId: id, from: ['in_progress'], ...spec, now: t, holderSeen: true,
              set: { leaseExpiresAt: t + leaseMs, leaseMs },
              log: { action: 'heartbeat', details: fence.progress ?? null },
            },
            'heartbeat',
          );
        } catch (err) {
          // Waiting for a human answer is not a lost lease: the holder may keep asking.
          const held = await store.getTaskWithLease(id);
          const holds =
            held !== null &&
            (spec.leaseToken === undefined || held.leaseToken === spec.leaseToken) &&
            (spec.instanceId === undefined || held.task.instanceId === spec.instanceId);
          if (holds && held.task.status === 'needs_input') {
            if (held.task.instanceId) await store.touchInstance(held.task.instanceId, null, t);
            return held.task;
          }
          if (!(holds && held.task.status === 'in_progress' && tries < 2)) throw err;
        }
      }
    },
  };
}
