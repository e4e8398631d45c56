// create: a new task (or, with an idempotency key seen before, the task it created).
import { InvalidError } from '../../errors.js';
import { assertSameRequest } from '../idempotency.js';
import { LIMITS } from '../limits.js';
import type { NewTask, Priority, Task } from '../types.js';
import type { TransitionKit } from './kit.js';
import { assigneeWarnings } from './edit.js';
import { NO_REVIEW_DEFAULTS, reviewRequired } from './review.js';

export type CreateInput = {
  description: string;
  priority?: Priority;
  submittedBy?: string | null;
  notes?: string | null;
  project?: string | null;
  labels?: string[];
  dependsOn?: number[];
  runAfter?: number | null;
  maxAttempts?: number | null;
  idempotencyKey?: string | null;
  assignee?: string | null;
  /** The Discord user queuing it with /task: kept with the task, in the same transaction. */
  discordUserId?: string | null;
  /** Require review when completed; unset follows REVIEW_REQUIRED_LABELS / REVIEW_REQUIRED_PROJECTS. */
  review?: boolean | null;
};

export const unknownDependencies = (missing: number[]) =>
  new InvalidError(`Unknown dependency id(s): ${missing.map((id) => `#${id}`).join(', ')}`, { missing }, 'UNKNOWN_DEPENDENCY');

export function createTransition({ store, config, now, publish }: TransitionKit) {
  return {
    async create(input: CreateInput): Promise<{ task: Task; created: boolean; warnings: string[] }> {
      const description = input.description?.trim() ?? '';
      if (!description) throw new InvalidError('description must not be empty');
      if (description.length > LIMITS.descriptionMax) throw new InvalidError(`description is longer than ${LIMITS.descriptionMax} characters`);
      const dependsOn = [...new Set(input.dependsOn ?? [])];
      const labels = [...new Set(input.labels ?? [])].sort();
      const task: NewTask = {
        description,
        priority: input.priority ?? 'medium',
        submittedBy: input.submittedBy ?? null,
        notes: input.notes ?? null,
        project: input.project ?? null,
        labels,
        dependsOn,
        runAfter: input.runAfter ?? 0,
        maxAttempts: input.maxAttempts ?? config.maxAttempts,
        idempotencyKey: input.idempotencyKey ?? null,
        assignee: input.assignee ?? null,
        discordUserId: input.discordUserId ?? null,
        review: reviewRequired(input.review, labels, input.project ?? null, config.review ?? NO_REVIEW_DEFAULTS),
      };
      const result = await store.createTask(task, now());
      if (!result.ok) throw unknownDependencies(result.missing);
      if (!result.created) assertSameRequest(task, result.task, result.original);
      publish(result.events);
      return { task: result.task, created: result.created, warnings: await assigneeWarnings(store, result.task.assignee) };
    },
  };
}
