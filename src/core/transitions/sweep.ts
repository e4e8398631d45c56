// sweepExpiredLeases: tasks whose lease ran out are requeued (or failed after their last attempt); spent pending tasks fail.
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Task } from '../types.js';
import type { TransitionKit } from './kit.js';
import { attemptEndings } from './requeue-or-fail.js';

const BATCH = 200;

/** Why the sweeper took a task back, naming the lease it had (unknown for leases granted before it was kept). */
const expiryReason = (leaseMs: number | null) =>
  leaseMs === null ? 'lease expired (no heartbeat before it ran out)' : `lease expired (no heartbeat within its ${Math.round(leaseMs / 1000)}s lease)`;

export function sweepTransition(kit: TransitionKit) {
  const { store, now } = kit;
  const { requeueOrFail, failSpent } = attemptEndings(kit);
  return {
    /**
     * Requeues (or fails, after the last attempt) tasks whose lease ran out: their attempt stays used.
     * Also fails pending tasks with no attempt left (imported so), which no claim takes.
     */
    async sweepExpiredLeases(): Promise<{ requeued: number; failed: number }> {
      const t = now();
      let requeued = 0;
      let failed = 0;
      const settle = async (move: () => Promise<Task>) => {
        try {
          if ((await move()).status === 'failed') failed++;
          else requeued++;
        } catch (err) {
          // The holder completed or heartbeated in the meantime: its lease is no longer expired.
          if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
        }
      };
      for (;;) {
        const expired = await store.expiredLeases(t, BATCH);
        for (const lease of expired) {
          await settle(() => requeueOrFail(lease, { leaseToken: lease.leaseToken, leaseExpiredBefore: t }, expiryReason(lease.leaseMs), true, ['in_progress']));
        }
        if (expired.length < BATCH) break;
      }
      for (;;) {
        const spent = await store.spentTasks(BATCH);
        for (const task of spent) await settle(() => failSpent(task));
        if (spent.length < BATCH) break;
      }
      return { requeued, failed };
    },
  };
}
