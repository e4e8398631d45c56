// Review: a completion that waits for a person (in_review), and the person's decision on it.
import { InvalidError } from '../../errors.js';
import type { TransitionSpec } from '../ports.js';
import { LIMITS } from '../limits.js';
import type { TransitionKit } from './kit.js';
import type { Task } from '../types.js';

export type ReviewDecision = 'accept' | 'changes';

export type ReviewConfig = {
  /** Tasks with one of these labels require review unless the create says otherwise. */
  labels: readonly string[];
  /** Tasks of one of these projects require review unless the create says otherwise. */
  projects: readonly string[];
  /** After changes are requested, how long the agent that did the work has the task to itself. */
  preferMs: number;
};

export const NO_REVIEW_DEFAULTS: ReviewConfig = { labels: [], projects: [], preferMs: 10 * 60_000 };

/** Whether a new task requires review: as asked, else by its labels or project (REVIEW_REQUIRED_*). */
export function reviewRequired(asked: boolean | null | undefined, labels: readonly string[], project: string | null, config: ReviewConfig): boolean {
  if (asked !== undefined && asked !== null) return asked;
  return labels.some((l) => config.labels.includes(l)) || (project !== null && config.projects.includes(project));
}

type ReviewDeps = {
  run(spec: TransitionSpec, verb: string): Promise<Task>;
  get(id: number): Promise<Task>;
  now(): number;
  config: ReviewConfig;
};

/** The review decision as the queue's other transitions are assembled: from the kit. */
export function reviewTransition(kit: TransitionKit) {
  return createReview({ run: kit.run, get: (id) => kit.reads.get(id), now: kit.now, config: kit.config.review ?? NO_REVIEW_DEFAULTS });
}

export type ReviewInput = { decision: ReviewDecision; feedback?: string | null; by?: string | null };

export function createReview(deps: ReviewDeps) {
  return {
    /**
     * A person's decision on a task in in_review. Accept: completed. Changes: pending again with the
     * feedback kept on the task and its attempt given back; for `preferMs` only the agent that did
     * the work may claim it (enforced by the claim's WHERE clause), then anyone.
     */
    async review(id: number, input: ReviewInput): Promise<Task> {
      const feedback = input.feedback?.trim() || null;
      if (feedback !== null && feedback.length > LIMITS.notesMax) throw new InvalidError(`feedback is longer than ${LIMITS.notesMax} characters`);
      const by = input.by ? `by ${input.by}` : null;
      const t = deps.now();
      if (input.decision === 'accept') {
        return deps.run(
          {
            taskId: id, from: ['in_review'], now: t,
            set: { status: 'completed', completedAt: t, preferredInstanceId: null, preferredUntil: null },
            // A completion like any other (notifier, metrics, summary), saying it was accepted.
            log: { action: 'completed', details: `accepted${by ? ` ${by}` : ''}${feedback ? `: ${feedback}` : ''}` },
          },
          'accept',
        );
      }
      if (feedback === null) throw new InvalidError('feedback must not be empty when requesting changes');
      // Who did the work is read first and required unchanged by the write, so the preference names them.
      const task = await deps.get(id);
      const agent = task.status === 'in_review' ? task.instanceId : null;
      const prefer = agent !== null && deps.config.preferMs > 0;
      return deps.run(
        {
          taskId: id, from: ['in_review'], now: t,
          ...(agent ? { instanceId: agent } : {}),
          set: {
            status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, completedAt: null,
            runAfter: t, question: null, answer: null, reviewFeedback: feedback,
            preferredInstanceId: prefer ? agent : null, preferredUntil: prefer ? t + deps.config.preferMs : null,
          },
          attempt: 'giveBack',
          log: { action: 'changes_requested', details: by ? `${by}: ${feedback}` : feedback },
        },
        'request changes on',
      );
    },
  };
}
