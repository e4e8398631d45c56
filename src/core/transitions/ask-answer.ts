// askForInput and answer: the holder asks a human a question (its lease pauses); the answer hands the task back to it.
import { InvalidError } from '../../errors.js';
import type { Task } from '../types.js';
import type { Fence, TransitionKit } from './kit.js';

export function askAnswerTransitions(kit: TransitionKit) {
  const { config, now } = kit;
  return {
    /** The holder asks a human a question; the lease pauses until the answer comes. */
    async askForInput(id: number, fence: Fence & { question: string }): Promise<Task> {
      const question = fence.question?.trim();
      if (!question) throw new InvalidError('question must not be empty');
      return kit.run(
        {
          taskId: id, from: ['in_progress'], ...kit.fenceOf(fence, 'ask for input on'), now: now(), holderSeen: true,
          set: { status: 'needs_input', question, answer: null, leaseExpiresAt: null },
          log: { action: 'needs_input', details: question },
        },
        'ask for input on',
      );
    },

    /** A human answers; the task returns to the same agent with a fresh lease. */
    async answer(id: number, input: { answer: string; by?: string | null }): Promise<Task> {
      const answer = input.answer?.trim();
      if (!answer) throw new InvalidError('answer must not be empty');
      const t = now();
      return kit.run(
        {
          taskId: id, from: ['needs_input'], now: t,
          set: { status: 'in_progress', answer, leaseExpiresAt: t + config.leaseMs, leaseMs: config.leaseMs },
          log: { action: 'answered', details: input.by ? `by ${input.by}: ${answer}` : answer },
        },
        'answer',
      );
    },
  };
}
