// setPriority: a task not yet finished gets another priority.
import type { Priority, Task } from '../types.js';
import { NOT_FINAL, type TransitionKit } from './kit.js';

export function priorityTransition(kit: TransitionKit) {
  return {
    async setPriority(id: number, priority: Priority, by?: string | null): Promise<Task> {
      return kit.run(
        { taskId: id, from: NOT_FINAL, now: kit.now(), set: { priority }, log: { action: 'priority', details: `set to ${priority}${by ? ` by ${by}` : ''}` } },
        'change the priority of',
      );
    },
  };
}
