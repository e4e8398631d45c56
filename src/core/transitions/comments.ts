// Comments on a task, and telling its holder (at its heartbeat) what changed while it worked.
import { InvalidError, NotFoundError } from '../../errors.js';
import type { HolderNotice, Store } from '../ports.js';
import { LIMITS } from '../limits.js';
import type { Task, TaskComment, TaskEvent } from '../types.js';

export type CommentInput = { author: string; body: string; source: string; discordMessageId?: string | null };

const NOTHING_NEW: HolderNotice = { descriptionChanged: false, comments: [] };

export function createComments(store: Store, publish: (events: TaskEvent[]) => void, now: () => number) {
  return {
    async comment(taskId: number, input: CommentInput): Promise<{ comment: TaskComment; created: boolean }> {
      const body = input.body?.trim() ?? '';
      if (!body) throw new InvalidError('comment must not be empty');
      if (body.length > LIMITS.commentMax) throw new InvalidError(`comment is longer than ${LIMITS.commentMax} characters`, { limit: LIMITS.commentMax });
      const author = input.author.trim().slice(0, LIMITS.authorMax) || 'unknown';
      const outcome = await store.addComment({ taskId, author, body, source: input.source, discordMessageId: input.discordMessageId ?? null, now: now() });
      if (!outcome.ok) throw new NotFoundError(`Task #${taskId} not found`, { taskId });
      publish(outcome.events);
      return { comment: outcome.comment, created: outcome.created };
    },

    async comments(taskId: number): Promise<TaskComment[]> {
      if (!(await store.getTask(taskId))) throw new NotFoundError(`Task #${taskId} not found`, { taskId });
      return store.commentsOn(taskId);
    },

    /** What the holder of `task` (as its heartbeat just returned it) has not yet been told; nothing costs no query. */
    async holderNotice(task: Task): Promise<HolderNotice> {
      if (!task.descriptionUnseen && task.commentsUnseenFrom === null) return NOTHING_NEW;
      return store.takeHolderNotice(task);
    },
  };
}
