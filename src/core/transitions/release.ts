// release: the holder gives the task back on purpose (stopping, hung up); its attempt is returned.
import type { Task } from '../types.js';
import type { Fence, TransitionKit } from './kit.js';

export function releaseTransition(kit: TransitionKit) {
  return {
    async release(id: number, fence: Fence & { reason?: string | null }): Promise<Task> {
      return kit.run(
        {
          taskId: id, from: ['in_progress', 'needs_input'], ...kit.fenceOf(fence, 'release'), now: kit.now(), holderSeen: true,
          set: { status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, question: null, answer: null },
          attempt: 'giveBack',
          log: { action: 'released', details: fence.reason ?? null },
        },
        'release',
      );
    },
  };
}
