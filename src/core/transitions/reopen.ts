// reopen: a finished task (completed, cancelled or failed) goes back to pending with a fresh attempt budget and a reason.
import type { Task } from '../types.js';
import type { TransitionKit } from './kit.js';

export function reopenTransition(kit: TransitionKit) {
  return {
    async reopen(id: number, input: { by?: string | null; reason?: string | null } = {}): Promise<Task> {
      const t = kit.now();
      const details = [input.by ? `by ${input.by}` : null, input.reason?.trim() || null].filter(Boolean).join(': ') || null;
      return kit.run(
        {
          taskId: id, from: ['completed', 'cancelled', 'failed'], now: t,
          set: { status: 'pending', attempts: 0, runAfter: t, instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, completedAt: null, question: null, answer: null },
          log: { action: 'reopened', details },
          cascade: 'unblock',
        },
        'reopen',
      );
    },
  };
}
