// Idempotent creates (Stripe's rule): the same key with the same request returns the task created the
// first time; the same key with a different request is refused, naming the first field that differs.
import { InvalidError } from '../errors.js';
import type { NewTask, Task } from './types.js';

/** The fields of a create that make up "the request", with the names clients send them by. */
const REQUEST_FIELDS: Array<[keyof Omit<NewTask, 'idempotencyKey' | 'discordUserId'>, string]> = [
  ['description', 'description'],
  ['priority', 'priority'],
  ['submittedBy', 'submitted_by'],
  ['notes', 'notes'],
  ['project', 'project'],
  ['labels', 'labels'],
  ['dependsOn', 'depends_on'],
  ['runAfter', 'run_after'],
  ['maxAttempts', 'max_attempts'],
  ['assignee', 'assignee'],
  ['review', 'review'],
];

/** Fields a task keeps as they were created; compared for tasks created before requests were kept. */
const NEVER_CHANGED = new Set<keyof NewTask>(['description', 'submittedBy', 'project', 'labels', 'maxAttempts']);

/** Order does not matter in a list of dependencies. */
function comparable(field: keyof NewTask, value: unknown): string {
  // Requests kept from before review existed did not ask for it.
  if (field === 'review') return JSON.stringify(value === true);
  const v = field === 'dependsOn' && Array.isArray(value) ? [...value].sort((a, b) => a - b) : value;
  return JSON.stringify(v ?? null);
}

/**
 * Throws 422 IDEMPOTENCY_MISMATCH when `request` is not the request `existing` was created with
 * (`original`, or when that was not kept, the task's never-changing fields).
 */
export function assertSameRequest(request: NewTask, existing: Task, original: NewTask | null): void {
  for (const [field, name] of REQUEST_FIELDS) {
    if (!original && !NEVER_CHANGED.has(field)) continue;
    const before = original ? original[field] : existing[field];
    if (comparable(field, before) !== comparable(field, request[field])) {
      throw new InvalidError(
        `Idempotency key "${request.idempotencyKey}" was already used for task #${existing.id} with a different request: ${name} differs. ` +
          'Send the same request to get that task, or use a new key for a new task',
        { taskId: existing.id, field: name },
        'IDEMPOTENCY_MISMATCH',
      );
    }
  }
}
