// How an attempt ends without success (fail, an expired lease, a spent task): back to pending with backoff, or failed.
import { retryDelayMs } from '../backoff.js';
import type { TransitionSpec } from '../ports.js';
import type { Task, TaskStatus } from '../types.js';
import type { TransitionKit } from './kit.js';

type Attempts = { id: number; attempts: number; maxAttempts: number };

export function attemptEndings(kit: TransitionKit) {
  const { config, now, random } = kit;
  return {
    /**
     * Back to pending (with backoff) when retrying and an attempt is left, else failed. The decision
     * is made from `task.attempts`, and the write requires the row to still have that count, so a
     * concurrent change cannot slip between the read and the write.
     */
    async requeueOrFail(
      task: Attempts,
      fence: Pick<TransitionSpec, 'leaseToken' | 'instanceId' | 'leaseExpiredBefore' | 'holderSeen'>,
      error: string,
      retry: boolean,
      from: readonly TaskStatus[],
    ): Promise<Task> {
      const t = now();
      const guard = { taskId: task.id, from, ...fence, attemptsAre: task.attempts, now: t };
      if (retry && task.attempts < task.maxAttempts) {
        const delay = retryDelayMs(task.attempts, config.retryBaseMs, random);
        return kit.run(
          {
            ...guard,
            set: { status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, runAfter: t + delay, error, question: null, answer: null },
            log: { action: 'requeued', details: `attempt ${task.attempts} of ${task.maxAttempts} failed: ${error.slice(0, 500)}; retry in ${Math.round(delay / 1000)}s` },
          },
          'requeue',
        );
      }
      const suffix = retry ? ` (no attempts left: ${task.attempts} of ${task.maxAttempts} used)` : '';
      return kit.run(
        {
          ...guard,
          set: { status: 'failed', completedAt: t, leaseToken: null, leaseExpiresAt: null, error },
          log: { action: 'failed', details: `${error.slice(0, 500)}${suffix}` },
          cascade: 'block',
        },
        'fail',
      );
    },

    /** A pending task whose attempts are all used is never claimed: it fails, saying so. */
    async failSpent(task: Attempts): Promise<Task> {
      const t = now();
      const error = `no attempts left: ${task.attempts} of ${task.maxAttempts} used`;
      return kit.run(
        {
          taskId: task.id, from: ['pending'], attemptsAre: task.attempts, now: t,
          set: { status: 'failed', completedAt: t, leaseToken: null, leaseExpiresAt: null, error },
          log: { action: 'failed', details: error },
          cascade: 'block',
        },
        'fail',
      );
    },
  };
}
