// complete: the holder finished the task, with its notes and result (in_review when it requires review).
import type { Task } from '../types.js';
import type { TransitionSpec } from '../ports.js';
import { refusalError } from '../refusals.js';
import type { Fence, TransitionKit } from './kit.js';

type Completion = Fence & { notes?: string | null; result?: unknown };

export function completeTransition(kit: TransitionKit) {
  /** Completed, or in_review for a task that requires review; with `nextReady`, the first ready task after it. */
  async function finish(id: number, fence: Completion, nextReady: boolean): Promise<{ task: Task; nextReadyId: number | null }> {
    const t = kit.now();
    const notes = fence.notes ?? null;
    const guard = { taskId: id, from: ['in_progress'] as const, ...kit.fenceOf(fence, 'complete'), now: t, holderSeen: true, ...(nextReady ? { nextReady } : {}) };
    const spec: TransitionSpec = {
      ...guard, reviewRequired: false,
      set: { status: 'completed', completedAt: t, leaseToken: null, leaseExpiresAt: null, notes, result: fence.result ?? null },
      log: { action: 'completed', details: notes },
    };
    let outcome = await kit.store.transition(spec);
    // Refused because the task requires review (not for its state or lease): it waits for a person.
    if (!outcome.ok && outcome.current?.review && outcome.current.status === 'in_progress') {
      const review: TransitionSpec = {
        ...guard, reviewRequired: true,
        set: { status: 'in_review', leaseToken: null, leaseExpiresAt: null, notes, result: fence.result ?? null },
        log: { action: 'in_review', details: notes },
      };
      outcome = await kit.store.transition(review);
      if (!outcome.ok) throw refusalError(review, outcome.current, outcome.heldByInstance, 'complete');
    }
    if (!outcome.ok) throw refusalError(spec, outcome.current, outcome.heldByInstance, 'complete');
    kit.publish(outcome.events);
    return { task: outcome.task, nextReadyId: outcome.nextReadyId ?? null };
  }

  return {
    /** The holder's work is done: completed, or in_review for a task that requires review. */
    async complete(id: number, fence: Completion): Promise<Task> {
      return (await finish(id, fence, false)).task;
    },

    /**
     * As complete, and the first task ready to be claimed once it is done (the original answer's
     * next_task_id), read by the store with the change where it can.
     */
    completeThenNext(id: number, fence: Completion): Promise<{ task: Task; nextReadyId: number | null }> {
      return finish(id, fence, true);
    },
  };
}
