// addDependencies: a task not yet started waits for more tasks; existence, state and cycles are checked in the write.
import { ConflictError, InvalidError, NotFoundError } from '../../errors.js';
import type { Task } from '../types.js';
import { unknownDependencies } from './create.js';
import type { TransitionKit } from './kit.js';

export function dependencyTransition({ store, now, publish }: TransitionKit) {
  return {
    async addDependencies(id: number, dependsOn: number[]): Promise<Task> {
      const unique = [...new Set(dependsOn)];
      if (unique.includes(id)) throw new InvalidError(`Task #${id} cannot depend on itself`, { taskId: id }, 'DEPENDENCY_CYCLE');
      const result = await store.addDependencies(id, unique, now());
      if (!result.ok) {
        switch (result.reason) {
          case 'not_found':
            throw new NotFoundError(`Task #${id} not found`, { taskId: id });
          case 'not_editable':
            throw new ConflictError('CONFLICT', `Cannot add dependencies to task #${id}: it is ${result.current.status}`, { taskId: id, status: result.current.status });
          case 'unknown_dependency':
            throw unknownDependencies(result.missing);
          case 'cycle':
            throw new InvalidError(`Adding these dependencies to #${id} would create a cycle`, { taskId: id }, 'DEPENDENCY_CYCLE');
        }
      }
      publish(result.events);
      return result.task;
    },
  };
}
