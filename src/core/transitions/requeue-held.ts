// requeueHeld: an agent restarted under the same instance id gives back what its previous process held.
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Task } from '../types.js';
import type { Agent, TransitionKit } from './kit.js';

export type RequeuedHeld = { task: Task; previousStatus: Task['status'] };

/**
 * The previous process died without reporting: its tasks' leases would run out on their own, and until then
 * the WIP limit keeps the new process from claiming. Each held task ends its attempt now, as an expired
 * lease would (the attempt stays used, so a task that crashes its worker every time still runs out of
 * attempts), but goes back to the queue at once rather than after a retry delay: the crash was the
 * worker's, not necessarily the task's. Each change requires the holder and the attempt count read
 * here, so a task settled or claimed again in the meantime is left alone.
 */
export function requeueHeldTransition(kit: TransitionKit) {
  const { now, reads } = kit;
  return {
    async requeueHeld(agent: Agent, reason?: string | null): Promise<RequeuedHeld[]> {
      const held = (await reads.heldBy(agent.instanceId)).tasks;
      const why = reason?.trim() || `instance ${agent.instanceId} restarted; its previous process's lease ended`;
      const done: RequeuedHeld[] = [];
      for (const task of held) {
        const t = now();
        const guard = { taskId: task.id, from: [task.status], instanceId: agent.instanceId, attemptsAre: task.attempts, now: t };
        const used = `attempt ${task.attempts} of ${task.maxAttempts} used`;
        try {
          const moved =
            task.attempts < task.maxAttempts
              ? await kit.run(
                  {
                    ...guard,
                    set: { status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, runAfter: t, error: why, question: null, answer: null },
                    log: { action: 'requeued', details: `${why} (${used})`, instanceId: agent.instanceId },
                  },
                  'requeue',
                )
              : await kit.run(
                  {
                    ...guard,
                    set: { status: 'failed', completedAt: t, leaseToken: null, leaseExpiresAt: null, error: `${why} (no attempts left: ${used})` },
                    log: { action: 'failed', details: `${why} (no attempts left: ${used})`, instanceId: agent.instanceId },
                    cascade: 'block',
                  },
                  'fail',
                );
          done.push({ task: moved, previousStatus: task.status });
        } catch (err) {
          // Settled between the read and the write (completed, cancelled, swept): nothing left to give back.
          if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
        }
      }
      return done;
    },
  };
}
