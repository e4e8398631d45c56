// complete: the holder finished the task, with its notes and result (in_review when it requires review).
import type { Task } from '../types.js';
import type { TransitionSpec } from '../ports.js';
import { refusalError } from '../refusals.js';
import type { Fence, TransitionKit } from './kit.js';

export function completeTransition(kit: TransitionKit) {
  return {
    /** The holder's work is done: completed, or in_review for a task that requires review. */
    async complete(id: number, fence: Fence & { notes?: string | null; result?: unknown }): Promise<Task> {
      const t = kit.now();
      const notes = fence.notes ?? null;
      const guard = { taskId: id, from: ['in_progress'] as const, ...kit.fenceOf(fence, 'complete'), now: t, holderSeen: true };
      const spec: TransitionSpec = {
        ...guard, reviewRequired: false,
        set: { status: 'completed', completedAt: t, leaseToken: null, leaseExpiresAt: null, notes, result: fence.result ?? null },
        log: { action: 'completed', details: notes },
      };
      const outcome = await kit.store.transition(spec);
      if (outcome.ok) {
        kit.publish(outcome.events);
        return outcome.task;
      }
      // Refused because the task requires review (not for its state or lease): it waits for a person.
      if (outcome.current?.review && outcome.current.status === 'in_progress') {
        return kit.run(
          {
            ...guard, reviewRequired: true,
            set: { status: 'in_review', leaseToken: null, leaseExpiresAt: null, notes, result: fence.result ?? null },
            log: { action: 'in_review', details: notes },
          },
          'complete',
        );
      }
      throw refusalError(spec, outcome.current, outcome.heldByInstance, 'complete');
    },
  };
}
