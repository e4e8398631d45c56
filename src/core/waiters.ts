// Long-poll claims: agents wait for a task they can serve, woken by events rather than by polling.
import { TooManyWaitersError } from '../errors.js';
import type { Freed, LabelScope } from './ports.js';
import type { Agent, Queue } from './queue.js';
import type { ClaimedTask, Task, TaskEvent } from './types.js';

/**
 * A wake-up: `may` says which waiters it may go to (the waiter chosen keeps it, to pass it on if it
 * cannot claim). A look (`looked` set) is for what no one task shows: a place under a concurrency
 * limit, more freed or due tasks than were read, imported tasks, a read that failed. A
 * waiter woken by a look that finds nothing passes it on to a waiter of a scope (labels and
 * projects) that has not looked yet, so what was freed reaches an agent that can take it now, not
 * when its wait ends; waiters of a scope already looked would find what it found.
 */
type Wake = { may: (w: Waiter) => boolean; looked?: Set<string> };

type Waiter = {
  instanceId: string;
  labels: LabelScope;
  projects: string[];
  /** Its labels and projects: waiters of one scope find the same tasks (tasks meant for one agent aside). */
  scope: string;
  wake: (wake: Wake) => void;
};

const scopeOf = (labels: LabelScope, projects: readonly string[]): string =>
  JSON.stringify([labels === '*' ? '*' : [...labels].sort(), [...projects].sort()]);

/** A wake-up for any waiter, passed on while waiters find nothing (see Wake). */
const look = (): Wake => ({ may: () => true, looked: new Set() });

export type ClaimWaitersOptions = {
  /** Long-poll claims one agent instance may have open at once (LONG_POLL_MAX_WAITERS); more are refused. */
  maxPerInstance?: number;
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
};

export type ClaimWaiters = {
  claimOrWait(agent: Agent & { labels?: LabelScope; projects?: string[]; leaseMs?: number | null }, waitMs: number, signal?: AbortSignal): Promise<ClaimedTask | null>;
  /** Number of agents currently waiting. */
  size(): number;
  /** Ends every wait now (server shutdown): waiters return null. */
  releaseAll(): void;
  /** Ends every wait and stops listening to the queue's events (the waiters are done for good). */
  close(): void;
};

/** Whether the task is kept for one agent at `now` (after a review asked for changes: the agent that did the work has it first). */
const keptFor = (task: Task, now: number): string | null =>
  task.preferredInstanceId !== null && task.preferredUntil !== null && task.preferredUntil > now ? task.preferredInstanceId : null;

/** Whether this waiter may take the task now: its labels, its projects, and whom the task is meant or kept for. */
function covers(w: Pick<Waiter, 'instanceId' | 'labels' | 'projects'>, task: Task, now: number): boolean {
  if (task.assignee !== null && task.assignee !== w.instanceId) return false;
  const kept = keptFor(task, now);
  if (kept !== null && kept !== w.instanceId) return false;
  if (w.projects.length > 0 && (task.project === null || !w.projects.includes(task.project))) return false;
  if (w.labels === '*') return true;
  return task.labels.every((label) => (w.labels as string[]).includes(label));
}

/** The longest delay setTimeout honours (24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Events after which a task may have become claimable. */
const WAKING_EVENTS = new Set(['created', 'released', 'requeued', 'retried', 'reopened', 'edited', 'unblocked', 'changes_requested', 'completed', 'imported', 'failed', 'cancelled']);
/** Events of a task's end: it may have freed its dependants or a place under a concurrency limit (read after the event). */
const ENDING_EVENTS = new Set(['completed', 'failed', 'cancelled']);
/** Freed dependants read after a task's end, or tasks come due read when the timer fires; past that many, a look finds the rest. */
const FREED_READ = 32;
/** Events after which many tasks may have become claimable at once (a resume, a limit raised): every waiter looks. */
const WAKING_ALL_EVENTS = new Set(['queue_resumed', 'limit_set', 'limit_removed']);

// Waiters are per replica, and that is right: a waiter is a request held open on this replica's
// socket. Wake-ups still cross replicas: with PostgreSQL, queue.bus is the replica bus, which also
// carries the events other replicas wrote (cluster/event-feed.ts), so a task created on replica B
// wakes a waiter on replica A (test/cluster/event-feed.test.ts). A wake-up only makes the waiter
// try; the claim itself is the database's atomic step, so two replicas waking for one task is safe.
export function createClaimWaiters(queue: Queue, options: ClaimWaitersOptions = {}): ClaimWaiters {
  const timers = options.timers ?? globalThis;
  const maxPerInstance = options.maxPerInstance ?? 8;
  const waiters: Waiter[] = [];
  // Open long-poll claims per instance. Per process: a cap of one replica's memory and timers (each
  // replica caps its own), not a queue invariant, so it need not live in the database.
  const open = new Map<string, number>();
  let generation = 0;
  let scheduledFor: number | null = null;
  let scheduled: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  function wakeOne(wake: Wake): void {
    const index = waiters.findIndex(wake.may);
    if (index >= 0) waiters.splice(index, 1)[0]!.wake(wake);
  }

  function releaseAll(): void {
    closed = true;
    if (scheduled) timers.clearTimeout(scheduled);
    for (const waiter of waiters.splice(0)) waiter.wake({ may: () => true });
  }

  /** A task that may be claimable: the waiter it can serve is woken now, or when its time comes. */
  function offer(task: Task, now: number): void {
    if (task.runAfter > now) return scheduleAt(task.runAfter);
    // One pending task can serve exactly one waiter: the one it is kept for, while it is.
    wakeOne({ may: (w) => covers(w, task, now) });
    // When the time kept for that agent ends, anyone may take it.
    if (keptFor(task, now) !== null) scheduleAt(task.preferredUntil!);
  }

  /** Tasks that ended in this turn of the event loop, whose freed tasks are read together after it. */
  let ended: Task[] = [];
  /**
   * Whether a pending task may wait on others (its dependencies), so that a completion may free it:
   * until a read finds none, and again from any event that shows a task with dependencies (events
   * of every replica pass here). While none does, completions read nothing.
   */
  let dependantsMayWait = true;
  /** Events that showed a task with dependencies: a read's "none" stands only if none came meanwhile. */
  let dependantsShown = 0;

  /**
   * A task ended: what it freed is not in the event (its dependants, a place under a concurrency
   * limit), so it is read, only while agents wait, once for the tasks that ended in one turn. Each
   * freed dependant is offered as a new task is; a place under a limit (or more dependants than were
   * read) is a look. A task ending that frees nothing costs no claim: the waiters, however many their
   * scopes, stay asleep.
   */
  function afterEnd(task: Task): void {
    ended.push(task);
    if (ended.length === 1) setImmediate(() => void readFreed());
  }

  async function readFreed(): Promise<void> {
    const tasks = ended;
    ended = [];
    const shown = dependantsShown;
    const dependants = dependantsMayWait && tasks.some((task) => task.status === 'completed');
    let freed: Freed;
    try {
      freed = await queue.freedBy(tasks, FREED_READ, { dependants });
      if (dependants && !freed.anyWaiting && dependantsShown === shown) dependantsMayWait = false;
    } catch {
      freed = { dependants: [], limited: true, anyWaiting: true }; // not known: look, as a claim would
    }
    if (closed) return;
    offerRead(freed.dependants, freed.limited);
  }

  /** Offers the tasks a read found; a look as well when `alsoLook` says so, or when the read may have left some (it reads FREED_READ at most). */
  function offerRead(tasks: readonly Task[], alsoLook: boolean): void {
    const now = queue.now();
    for (const task of tasks) offer(task, now);
    if (alsoLook || tasks.length === FREED_READ) wakeOne(look());
  }

  const unsubscribe = queue.bus.subscribe((event: TaskEvent) => {
    if (event.type === 'imported' || (event.task?.dependsOn.length ?? 0) > 0) {
      dependantsMayWait = true;
      dependantsShown++;
    }
    if (WAKING_ALL_EVENTS.has(event.type)) {
      generation++;
      for (const waiter of waiters.splice(0)) waiter.wake({ may: () => true });
      return;
    }
    if (!WAKING_EVENTS.has(event.type)) return;
    generation++;
    const task = event.task;
    if (task?.status === 'pending') offer(task, queue.now());
    // Many tasks at once: one waiter looks, and passes it on if it finds nothing.
    else if (event.type === 'imported') wakeOne(look());
    else if (task && ENDING_EVENTS.has(event.type) && waiters.length > 0) afterEnd(task);
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
      void afterDue(at);
    }, Math.max(0, at - queue.now()) + 5);
    scheduled.unref?.();
  }

  /**
   * The timer fired: the tasks that came due since `from` are read and each offered to a waiter that
   * serves it, and the timer is set for the next time, which the waiters still asleep need too.
   */
  async function afterDue(from: number): Promise<void> {
    const to = queue.now();
    let due: Task[] | null = null;
    let next: number | null = null;
    try {
      due = await queue.cameDue(from, to, FREED_READ);
      next = await queue.nextRunAfter(to);
    } catch {
      // not known: look, as a claim would (the waiter that looks sets the timer again when it waits)
    }
    if (closed) return;
    offerRead(due ?? [], due === null);
    if (next !== null) scheduleAt(next);
  }

  async function claimOrWait(agent: Agent & { labels?: LabelScope; projects?: string[]; leaseMs?: number | null }, waitMs: number, signal?: AbortSignal): Promise<ClaimedTask | null> {
    const deadline = queue.now() + waitMs;
    const labels = agent.labels ?? [];
    const projects = agent.projects ?? [];
    const scope = scopeOf(labels, projects);
    let wokenFor: Wake | null = null;
    for (;;) {
      const seen = generation;
      const lookedAt = queue.now();
      let task: ClaimedTask | null;
      try {
        task = await queue.claimNext(agent);
      } catch (err) {
        // Woken for a task this agent cannot take (its WIP limit, say): another waiter may.
        if (wokenFor) {
          const passOn = wokenFor;
          wakeOne({ ...passOn, may: (w) => w.instanceId !== agent.instanceId && passOn.may(w) });
        }
        throw err;
      }
      if (task) return task;
      // A waiter that takes any task found nothing: no other scope would find more.
      if (wokenFor?.looked && !(labels === '*' && projects.length === 0)) {
        const looked = wokenFor.looked.add(scope);
        wakeOne({ may: (w) => !looked.has(w.scope), looked });
        wokenFor = null;
      }
      const left = deadline - queue.now();
      if (left <= 0 || closed || signal?.aborted) return null;
      if (generation !== seen) continue; // something changed while we looked: look again
      const next = await queue.nextRunAfter(lookedAt);
      if (generation !== seen) continue;
      wokenFor = await new Promise<Wake | null>((resolve) => {
        const waiter: Waiter = {
          instanceId: agent.instanceId,
          labels,
          projects,
          scope,
          wake: (wake) => {
            cleanup();
            resolve(wake);
          },
        };
        const onTimeout = () => {
          remove();
          cleanup();
          resolve(null);
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
      if (!wokenFor || closed) return null;
    }
  }

  return {
    async claimOrWait(agent, waitMs, signal) {
      const count = open.get(agent.instanceId) ?? 0;
      if (count >= maxPerInstance) {
        throw new TooManyWaitersError(`Instance ${agent.instanceId} already has ${count} long-poll claim(s) waiting (limit ${maxPerInstance}); wait for one to return`, {
          limit: maxPerInstance,
        });
      }
      open.set(agent.instanceId, count + 1);
      try {
        return await claimOrWait(agent, waitMs, signal);
      } finally {
        const left = (open.get(agent.instanceId) ?? 1) - 1;
        if (left > 0) open.set(agent.instanceId, left);
        else open.delete(agent.instanceId);
      }
    },
    size: () => waiters.length,
    releaseAll,
    close() {
      releaseAll();
      unsubscribe();
    },
  };
}
