// Long-poll claims: agents wait for a task they can serve, woken by events rather than by polling.
import type { LabelScope } from '../store/store.js';
import type { Agent, Queue } from './queue.js';
import type { ClaimedTask, Task, TaskEvent } from './types.js';

type Waiter = {
  labels: LabelScope;
  wake: () => void;
};

export type ClaimWaiters = {
  claimOrWait(agent: Agent & { labels?: LabelScope; leaseMs?: number | null }, waitMs: number, signal?: AbortSignal): Promise<ClaimedTask | null>;
  /** Number of agents currently waiting. */
  size(): number;
  /** Ends every wait now (server shutdown): waiters return null. */
  releaseAll(): void;
};

function covers(labels: LabelScope, task: Task): boolean {
  if (labels === '*') return true;
  return task.labels.every((label) => labels.includes(label));
}

/** Events after which a task may have become claimable. */
/** The longest delay setTimeout honours (24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const WAKING_EVENTS = new Set(['created', 'released', 'requeued', 'retried', 'unblocked', 'completed', 'imported']);

export function createClaimWaiters(queue: Queue, timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout } = globalThis): ClaimWaiters {
  const waiters: Waiter[] = [];
  let generation = 0;
  let scheduledFor: number | null = null;
  let scheduled: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  function wakeOne(match: (w: Waiter) => boolean): void {
    const index = waiters.findIndex(match);
    if (index >= 0) waiters.splice(index, 1)[0]!.wake();
  }

  queue.bus.subscribe((event: TaskEvent) => {
    if (!WAKING_EVENTS.has(event.type)) return;
    generation++;
    const task = event.task;
    if (task && task.status === 'pending' && task.runAfter <= queue.now()) {
      // One new pending task can serve exactly one waiter.
      wakeOne((w) => covers(w.labels, task));
    } else if (event.type === 'completed' || event.type === 'imported' || event.type === 'unblocked') {
      // A completion may free dependants we cannot see from the event: one waiter looks.
      wakeOne(() => true);
    } else if (task && task.status === 'pending') {
      scheduleAt(task.runAfter);
    }
  });

  /** One timer for the earliest scheduled task, shared by all waiters. */
  function scheduleAt(at: number): void {
    if (closed || waiters.length === 0) return;
    // No wait lasts that long, and setTimeout would fire at once for it (past 2^31 - 1 ms) and spin.
    if (at - queue.now() > MAX_TIMER_MS) return;
    if (scheduledFor !== null && scheduledFor <= at) return;
    if (scheduled) timers.clearTimeout(scheduled);
    scheduledFor = at;
    scheduled = timers.setTimeout(() => {
      scheduled = null;
      scheduledFor = null;
      generation++;
      wakeOne(() => true);
    }, Math.max(0, at - queue.now()) + 5);
    scheduled.unref?.();
  }

  return {
    async claimOrWait(agent, waitMs, signal) {
      const deadline = queue.now() + waitMs;
      const labels = agent.labels ?? [];
      for (;;) {
        const seen = generation;
        const task = await queue.claimNext(agent);
        if (task) return task;
        const left = deadline - queue.now();
        if (left <= 0 || closed || signal?.aborted) return null;
        if (generation !== seen) continue; // something changed while we looked: look again
        const next = await queue.store.nextRunAfter(queue.now());
        if (generation !== seen) continue;
        const woken = await new Promise<boolean>((resolve) => {
          const waiter: Waiter = {
            labels,
            wake: () => {
              cleanup();
              resolve(true);
            },
          };
          const onTimeout = () => {
            remove();
            cleanup();
            resolve(false);
          };
          const timer = timers.setTimeout(onTimeout, left);
          const onAbort = () => onTimeout();
          function remove() {
            const index = waiters.indexOf(waiter);
            if (index >= 0) waiters.splice(index, 1);
          }
          function cleanup() {
            timers.clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
          }
          signal?.addEventListener('abort', onAbort, { once: true });
          waiters.push(waiter);
          if (next !== null) scheduleAt(next);
        });
        if (!woken || closed) return null;
      }
    },
    size: () => waiters.length,
    releaseAll() {
      closed = true;
      if (scheduled) timers.clearTimeout(scheduled);
      for (const waiter of waiters.splice(0)) waiter.wake();
    },
  };
}
