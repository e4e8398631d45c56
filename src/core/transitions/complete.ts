// complete: the holder finished the task, with its notes and result.
import type { Task } from '../types.js';
import type { Fence, TransitionKit } from './kit.js';

export function completeTransition(kit: TransitionKit) {
  return {
    async complete(id: number, fence: Fence & { notes?: string | null; result?: unknown }): Promise<Task> {
      const t = kit.now();
      return kit.run(
        {
          taskId: id, from: ['in_progress'], ...kit.fenceOf(fence, 'complete'), now: t, holderSeen: true,
          set: { status: 'completed', completedAt: t, leaseToken: null, leaseExpiresAt: null, notes: fence.notes ?? null, result: fence.result ?? null },
          log: { action: 'completed', details: fence.notes ?? null },
        },
        'complete',
      );
    },
  };
}
