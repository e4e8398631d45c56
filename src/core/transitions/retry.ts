// retry: a failed task goes back to pending with fresh attempts; its blocked dependants follow.
import type { Task } from '../types.js';
import type { TransitionKit } from './kit.js';

export function retryTransition(kit: TransitionKit) {
  return {
    async retry(id: number, by?: string | null): Promise<Task> {
      const t = kit.now();
      return kit.run(
        {
          taskId: id, from: ['failed'], now: t,
          // A retried task gets its full attempt budget again.
          set: { status: 'pending', attempts: 0, runAfter: t, instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, completedAt: null },
          log: { action: 'retried', details: by ? `by ${by}` : null },
          cascade: 'unblock',
        },
        'retry',
      );
    },
  };
}
