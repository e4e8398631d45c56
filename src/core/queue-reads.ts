// Read-side of the queue: single tasks with their logs, lists, stats and instances.
import { NotFoundError } from '../errors.js';
import type { Activity, ActivityCounted, Freed, Store } from './ports.js';
import { LIMITS } from './limits.js';
import { PEEK_HOLD_MS, PEEK_RACE_RETRIES, PEEK_WINDOW_MAX } from './peek-holds.js';
import { HELD_STATUSES, type Instance, type Stats, type Task, type TaskFilter, type TaskLog, type TaskPage } from './types.js';

export function createQueueReads(store: Store, now: () => number) {
  async function mustGet(id: number): Promise<Task> {
    const task = await store.getTask(id);
    if (!task) throw new NotFoundError(`Task #${id} not found`, { taskId: id });
    return task;
  }

  async function nextReadyId(): Promise<number | null> {
    return (await store.readyIds(now(), 1))[0] ?? null;
  }

  return {
    async get(id: number): Promise<Task> {
      return mustGet(id);
    },

    async getWithLogs(id: number): Promise<{ task: Task; logs: TaskLog[] }> {
      const task = await mustGet(id);
      return { task, logs: await store.logsFor(id) };
    },

    /** The first task in queue order that is ready to be claimed (Discord's "next in line"). */
    async peekNext(): Promise<Task | null> {
      const id = await nextReadyId();
      return id === null ? null : store.getTask(id);
    },

    /**
     * The original GET /api/tasks/next: the first task in queue order that is ready to be claimed and
     * that no other peek was shown in the last moments (see peek-holds.ts), so agents polling together
     * are shown different tasks; a caller naming its instance is shown the task it was shown before
     * while that hold lasts.
     */
    async offerNext(instanceId: string | null = null): Promise<Task | null> {
      for (let attempt = 0; ; attempt++) {
        const t = now();
        const { task, lostRace } = await store.peekAndHold({ instanceId, now: t, holdUntil: t + PEEK_HOLD_MS, window: PEEK_WINDOW_MAX });
        if (!lostRace || attempt >= PEEK_RACE_RETRIES) return task;
      }
    },

    /** Id of the first task in queue order that is ready to be claimed (the original complete answer's next_task_id). */
    nextReadyId,

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

    /**
     * Earliest run_after later than `after` (default now) among pending tasks: when a long-poll waiter must
     * look again. A waiter passes the time its last claim looked, so a task that fell due in between is
     * answered (a time already past: look at once) rather than missed.
     */
    nextRunAfter(after: number = now()): Promise<number | null> {
      return store.nextRunAfter(after);
    },

    /** What the end of these tasks made claimable (Store.freedBy): for long-poll waiters, which the events alone do not tell. */
    freedBy(tasks: readonly Task[], limit: number, options?: { dependants?: boolean }): Promise<Freed> {
      return store.freedBy(tasks, limit, options);
    },

    /** Pending tasks that became claimable by more agents in [from, to] (their run_after, or the end of the time kept for one agent). */
    cameDue(from: number, to: number, limit: number): Promise<Task[]> {
      return store.cameDue(from, to, limit);
    },

    /** Finished tasks a purge of those finished before `finishedBefore` would delete (what retention announces). */
    countPurgeable(finishedBefore: number): Promise<number> {
      return store.countPurgeable(finishedBefore);
    },

    /** What happened in (from, to], for the daily summary. */
    activity(from: number, to: number, counted: readonly ActivityCounted[], slowestLimit: number): Promise<Activity> {
      return store.activity(from, to, counted, slowestLimit);
    },

    /** Resolves when the database answers (health checks). */
    ping(): Promise<void> {
      return store.ping();
    },
  };
}
