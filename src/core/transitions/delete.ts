// Deleting a task: refused while an agent holds it or others depend on it, unless forced.
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Store } from '../ports.js';
import type { Task, TaskEvent } from '../types.js';

export function createDelete(store: Store, publish: (events: TaskEvent[]) => void, now: () => number) {
  /** `force`: also a held task (its agent is fenced: its next call finds no task) and one others depend on (they are blocked). */
  return async function remove(id: number, options: { force?: boolean; by?: string | null } = {}): Promise<Task> {
    const outcome = await store.deleteTask({ taskId: id, force: options.force === true, by: options.by ?? null, now: now() });
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'not_found':
          throw new NotFoundError(`Task #${id} not found (already deleted?)`, { taskId: id });
        case 'held':
          throw new ConflictError(
            'TASK_HELD',
            `Task #${id} is ${outcome.current.status}, held by ${outcome.current.instanceName ?? outcome.current.instanceId}; cancel it, or delete with force=true to take it from its agent`,
            { taskId: id, status: outcome.current.status, instanceId: outcome.current.instanceId },
          );
        case 'has_dependants':
          throw new ConflictError(
            'HAS_DEPENDANTS',
            `Task(s) ${outcome.dependants.map((d) => `#${d}`).join(', ')} depend on #${id}; delete with force=true to block them`,
            { taskId: id, dependants: outcome.dependants },
          );
      }
    }
    publish(outcome.events);
    return outcome.task;
  };
}
