// cancel: a task not yet finished is cancelled; its pending dependants become blocked.
import type { Task } from '../types.js';
import { NOT_FINAL, type TransitionKit } from './kit.js';

export function cancelTransition(kit: TransitionKit) {
  return {
    async cancel(id: number, by?: { user?: string | null; reason?: string | null }): Promise<Task> {
      const t = kit.now();
      const details = [by?.user ? `by ${by.user}` : null, by?.reason ?? null].filter(Boolean).join(': ') || null;
      return kit.run(
        {
          taskId: id, from: NOT_FINAL, now: t,
          set: { status: 'cancelled', completedAt: t, leaseToken: null, leaseExpiresAt: null },
          log: { action: 'cancelled', details },
          cascade: 'block',
        },
        'cancel',
      );
    },
  };
}
