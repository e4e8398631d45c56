// fail: the holder's work ended without success; the task is requeued (an attempt left, retry asked) or failed.
import { ConflictError } from '../../errors.js';
import type { Task } from '../types.js';
import type { Fence, TransitionKit } from './kit.js';
import { attemptEndings } from './requeue-or-fail.js';

export function failTransition(kit: TransitionKit) {
  const { store, reads } = kit;
  const { requeueOrFail } = attemptEndings(kit);

  /**
   * Runs `attempt` on a fresh read of the task; when the row's attempts changed between the read and
   * the write (the write's guard refused it), reads again. Anything else refused is final.
   */
  async function withCurrentAttempts(id: number, attempt: (task: Task) => Promise<Task>): Promise<Task> {
    for (let tries = 1; ; tries++) {
      const task = await reads.get(id);
      try {
        return await attempt(task);
      } catch (err) {
        const moved = err instanceof ConflictError && err.code === 'CONFLICT' && (await store.getTask(id))?.attempts !== task.attempts;
        if (!moved || tries >= 3) throw err;
      }
    }
  }

  return {
    /** The holder's work ended without success: its attempt stays used. */
    async fail(id: number, fence: Fence & { error: string; retry?: boolean }): Promise<Task> {
      const spec = kit.fenceOf(fence, 'fail');
      const error = fence.error?.trim() || 'failed without a message';
      return withCurrentAttempts(id, (task) => requeueOrFail(task, { ...spec, holderSeen: true }, error, fence.retry === true, ['in_progress', 'needs_input']));
    },
  };
}
