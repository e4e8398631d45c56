// Read-side of the queue: single tasks with their logs, lists, stats and instances.
import { NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import { LIMITS } from './limits.js';
import { HELD_STATUSES, type Instance, type Stats, type Task, type TaskFilter, type TaskLog, type TaskPage } from './types.js';

export function createQueueReads(store: Store, now: () => number) {
  async function mustGet(id: number): Promise<Task> {
    const task = await store.getTask(id);
    if (!task) throw new NotFoundError(`Task #${id} not found`, { taskId: id });
    return task;
  }

  return {
    async get(id: number): Promise<Task> {
      return mustGet(id);
    },

    async getWithLogs(id: number): Promise<{ task: Task; logs: TaskLog[] }> {
      const task = await mustGet(id);
      return { task, logs: await store.logsFor(id) };
    },

    /** The task the next claim without labels would get (the original "next" peek). */
    async peekNext(): Promise<Task | null> {
      const page = await store.listTasks({ status: ['pending'], order: 'queue', limit: 1 });
      return page.tasks[0] ?? null;
    },

    /** Id of the task the next claim without labels would get (the original complete answer's next_task_id). */
    nextPendingId(): Promise<number | null> {
      return store.nextPendingId();
    },

    list(filter: TaskFilter): Promise<TaskPage> {
      return store.listTasks(filter);
    },

    stats(): Promise<Stats> {
      return store.stats();
    },

    instances(): Promise<Instance[]> {
      return store.listInstances();
    },

    touchInstance(agent: { instanceId: string; instanceName?: string | null }): Promise<void> {
      return store.touchInstance(agent.instanceId, agent.instanceName ?? null, now());
    },

    heldBy(instanceId: string): Promise<TaskPage> {
      return store.listTasks({ instanceId, status: [...HELD_STATUSES], order: 'newest', limit: LIMITS.listLimitMax });
    },

  };
}
