// The task lifecycle: each transition validates, runs one atomic store call, and emits its events.
import { randomUUID } from 'node:crypto';
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import type { LabelScope, Store, TransitionOutcome, TransitionSpec } from './ports.js';
import { retryDelayMs } from './backoff.js';
import { refusalError } from './refusals.js';
import { createOffers } from './offers.js';
import { createQueueReads } from './queue-reads.js';
import { createBulkActions } from './bulk-actions.js';
import { createEventLog } from './event-log.js';
import type { EventBus } from './events.js';
import { LIMITS } from './limits.js';
import { assertSameRequest } from './idempotency.js';
import type { AnnouncementKind, ClaimedTask, NewTask, Priority, Task, TaskEvent, TaskStatus } from './types.js';

export type QueueConfig = {
  /** Default lease length; an agent may ask for another within [leaseMinMs, leaseMaxMs]. */
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** Max tasks one instance may hold at once; 0 means no limit. */
  wipLimit: number;
};

export type QueueDeps = {
  store: Store;
  bus: EventBus;
  config: QueueConfig;
  clock?: () => number;
  random?: () => number;
  newToken?: () => string;
};

export type Agent = { instanceId: string; instanceName?: string | null };

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
};

export type Fence = { leaseToken?: string | null; instanceId?: string | null };

const LEASE_MIN_MS = 5_000;
const LEASE_MAX_MS = 24 * 60 * 60 * 1000;
const NOT_FINAL: readonly TaskStatus[] = ['pending', 'in_progress', 'needs_input', 'blocked'];

export type Queue = ReturnType<typeof createQueue>;

const unknownDependencies = (missing: number[]) =>
  new InvalidError(`Unknown dependency id(s): ${missing.map((id) => `#${id}`).join(', ')}`, { missing }, 'UNKNOWN_DEPENDENCY');

/** Why the sweeper took a task back, naming the lease it had (unknown for leases granted before it was kept). */
const expiryReason = (leaseMs: number | null) =>
  leaseMs === null ? 'lease expired (no heartbeat before it ran out)' : `lease expired (no heartbeat within its ${Math.round(leaseMs / 1000)}s lease)`;

export function createQueue(deps: QueueDeps) {
  const { store, bus, config } = deps;
  const now = deps.clock ?? Date.now;
  const random = deps.random ?? Math.random;
  const newToken = deps.newToken ?? randomUUID;

  const publish = (events: TaskEvent[]) => {
    for (const event of events) bus.emit(event);
  };

  const leaseLength = (ms?: number | null): number => {
    if (ms === undefined || ms === null) return config.leaseMs;
    if (!Number.isFinite(ms) || ms < LEASE_MIN_MS || ms > LEASE_MAX_MS) {
      throw new InvalidError(`lease must be between ${LEASE_MIN_MS / 1000} and ${LEASE_MAX_MS / 1000} seconds`);
    }
    return ms;
  };

  const offers = createOffers(now);
  const reads = createQueueReads(store, now, offers);

  /** Runs a transition; on refusal, explains why with the task's current state. */
  async function transition(spec: TransitionSpec, verb: string): Promise<Task> {
    const outcome: TransitionOutcome = await store.transition(spec);
    if (outcome.ok) {
      publish(outcome.events);
      return outcome.task;
    }
    throw refusalError(spec, outcome.current, outcome.heldByInstance, verb);
  }

  /** Both, when both are given: an agent whose identity is fixed (by its key) may not use another's token. */
  function fenceOf(fence: Fence, verb: string): Pick<TransitionSpec, 'leaseToken' | 'instanceId'> {
    if (!fence.leaseToken && !fence.instanceId) throw new InvalidError(`lease_token (or instance_id) is required to ${verb} a task`);
    return {
      ...(fence.leaseToken ? { leaseToken: fence.leaseToken } : {}),
      ...(fence.instanceId ? { instanceId: fence.instanceId } : {}),
    };
  }

  /**
   * Ends an attempt without success: back to pending (with backoff) when retrying and an attempt is
   * left, else failed. The decision is made from `task.attempts`, and the write requires the row to
   * still have that count, so a concurrent change cannot slip between the read and the write.
   */
  async function requeueOrFail(
    task: { id: number; attempts: number; maxAttempts: number },
    fence: Pick<TransitionSpec, 'leaseToken' | 'instanceId' | 'leaseExpiredBefore' | 'holderSeen'>,
    error: string,
    retry: boolean,
    from: readonly TaskStatus[],
  ): Promise<Task> {
    const t = now();
    const guard = { taskId: task.id, from, ...fence, attemptsAre: task.attempts, now: t };
    if (retry && task.attempts < task.maxAttempts) {
      const delay = retryDelayMs(task.attempts, config.retryBaseMs, random);
      return transition(
        {
          ...guard,
          set: { status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, runAfter: t + delay, error, question: null, answer: null },
          log: { action: 'requeued', details: `attempt ${task.attempts} of ${task.maxAttempts} failed: ${error.slice(0, 500)}; retry in ${Math.round(delay / 1000)}s` },
        },
        'requeue',
      );
    }
    const suffix = retry ? ` (no attempts left: ${task.attempts} of ${task.maxAttempts} used)` : '';
    return transition(
      {
        ...guard,
        set: { status: 'failed', completedAt: t, leaseToken: null, leaseExpiresAt: null, error },
        log: { action: 'failed', details: `${error.slice(0, 500)}${suffix}` },
        cascade: 'block',
      },
      'fail',
    );
  }

  /** A pending task whose attempts are all used is never claimed: it fails, saying so. */
  async function failSpent(task: { id: number; attempts: number; maxAttempts: number }): Promise<Task> {
    const t = now();
    const error = `no attempts left: ${task.attempts} of ${task.maxAttempts} used`;
    return transition(
      {
        taskId: task.id, from: ['pending'], attemptsAre: task.attempts, now: t,
        set: { status: 'failed', completedAt: t, leaseToken: null, leaseExpiresAt: null, error },
        log: { action: 'failed', details: error },
        cascade: 'block',
      },
      'fail',
    );
  }

  /**
   * Runs `attempt` on a fresh read of the task; when the row's attempts changed between the read and
   * the write (the write's guard refused it), reads again. Anything else refused is final.
   */
  async function withCurrentAttempts(id: number, attempt: (task: Task) => Promise<Task>): Promise<Task> {
    for (let tries = 1; ; tries++) {
      const task = await reads.get(id);
      try {
        return await attempt(task);
      } catch (err) {
        const moved = err instanceof ConflictError && err.code === 'CONFLICT' && (await store.getTask(id))?.attempts !== task.attempts;
        if (!moved || tries >= 3) throw err;
      }
    }
  }

  return {
    bus,
    config,
    now,

    async create(input: CreateInput): Promise<{ task: Task; created: boolean }> {
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
      };
      const result = await store.createTask(task, now());
      if (!result.ok) throw unknownDependencies(result.missing);
      if (!result.created) assertSameRequest(task, result.task, result.original);
      publish(result.events);
      return { task: result.task, created: result.created };
    },

    /** Claims the best claimable task for this agent in one atomic step, or returns null. */
    async claimNext(agent: Agent & { labels?: LabelScope; leaseMs?: number | null }): Promise<ClaimedTask | null> {
      const t = now();
      const leaseToken = newToken();
      const outcome = await store.claimNext({
        instanceId: agent.instanceId,
        instanceName: agent.instanceName ?? null,
        labels: agent.labels ?? [],
        leaseToken,
        leaseExpiresAt: t + leaseLength(agent.leaseMs),
        wipLimit: config.wipLimit,
        now: t,
      });
      if (outcome.ok) {
        offers.release(outcome.task.id);
        publish(outcome.events);
        return { ...outcome.task, leaseToken };
      }
      if (outcome.reason === 'wip_limit') {
        throw new ConflictError('WIP_LIMIT', `Instance ${agent.instanceId} already holds ${outcome.held} task(s) (limit ${config.wipLimit}); finish one first`, { limit: config.wipLimit });
      }
      return null;
    },

    /** The original two-step protocol: claim a task the agent picked by id. */
    async claim(id: number, agent: Agent & { leaseMs?: number | null }): Promise<ClaimedTask> {
      const t = now();
      const leaseToken = newToken();
      const leaseMs = leaseLength(agent.leaseMs);
      const spec: TransitionSpec = {
        taskId: id, from: ['pending'], claimable: true, now: t,
        wipLimit: config.wipLimit > 0 ? { instanceId: agent.instanceId, max: config.wipLimit } : undefined,
        set: { status: 'in_progress', instanceId: agent.instanceId, instanceName: agent.instanceName ?? null, claimedAt: t, leaseToken, leaseExpiresAt: t + leaseMs, leaseMs, question: null, answer: null },
        attempt: 'start',
        log: { action: 'claimed', details: `by ${agent.instanceName ?? agent.instanceId}`, instanceId: agent.instanceId },
        instance: { id: agent.instanceId, name: agent.instanceName ?? null, seen: true },
      };
      const outcome = await store.transition(spec);
      if (!outcome.ok) {
        const current = outcome.current;
        if (current?.status === 'pending' && current.attempts >= current.maxAttempts) {
          await failSpent(current).catch(() => {}); // refused: someone else changed it first
          throw new ConflictError('NOT_CLAIMABLE', `Cannot claim task #${id}: all its attempts are used (${current.attempts} of ${current.maxAttempts}); it is now failed`, {
            taskId: id, attempts: current.attempts, maxAttempts: current.maxAttempts,
          });
        }
        throw refusalError(spec, current, outcome.heldByInstance, 'claim');
      }
      publish(outcome.events);
      offers.release(id);
      return { ...outcome.task, leaseToken };
    },

    async heartbeat(id: number, fence: Fence & { leaseMs?: number | null; progress?: string | null }): Promise<Task> {
      const spec = fenceOf(fence, 'heartbeat');
      const leaseMs = leaseLength(fence.leaseMs);
      // Twice at most: a task answered between the refused heartbeat and the read below is in
      // progress again, and its holder's heartbeat is due.
      for (let tries = 1; ; tries++) {
        const t = now();
        try {
          return await transition(
            {
              taskId: id, from: ['in_progress'], ...spec, now: t, holderSeen: true,
              set: { leaseExpiresAt: t + leaseMs, leaseMs },
              log: { action: 'heartbeat', details: fence.progress ?? null },
            },
            'heartbeat',
          );
        } catch (err) {
          // Waiting for a human answer is not a lost lease: the holder may keep asking.
          const held = await store.getTaskWithLease(id);
          const holds =
            held !== null &&
            (spec.leaseToken === undefined || held.leaseToken === spec.leaseToken) &&
            (spec.instanceId === undefined || held.task.instanceId === spec.instanceId);
          if (holds && held.task.status === 'needs_input') {
            if (held.task.instanceId) await store.touchInstance(held.task.instanceId, null, t);
            return held.task;
          }
          if (!(holds && held.task.status === 'in_progress' && tries < 2)) throw err;
        }
      }
    },

    async complete(id: number, fence: Fence & { notes?: string | null; result?: unknown }): Promise<Task> {
      const t = now();
      return transition(
        {
          taskId: id, from: ['in_progress'], ...fenceOf(fence, 'complete'), now: t, holderSeen: true,
          set: { status: 'completed', completedAt: t, leaseToken: null, leaseExpiresAt: null, notes: fence.notes ?? null, result: fence.result ?? null },
          log: { action: 'completed', details: fence.notes ?? null },
        },
        'complete',
      );
    },

    /** The holder's work ended without success: its attempt stays used. */
    async fail(id: number, fence: Fence & { error: string; retry?: boolean }): Promise<Task> {
      const spec = fenceOf(fence, 'fail');
      const error = fence.error?.trim() || 'failed without a message';
      return withCurrentAttempts(id, (task) => requeueOrFail(task, { ...spec, holderSeen: true }, error, fence.retry === true, ['in_progress', 'needs_input']));
    },

    /** The holder gives the task back on purpose (stopping, hung up): its attempt is returned. */
    async release(id: number, fence: Fence & { reason?: string | null }): Promise<Task> {
      return transition(
        {
          taskId: id, from: ['in_progress', 'needs_input'], ...fenceOf(fence, 'release'), now: now(), holderSeen: true,
          set: { status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, question: null, answer: null },
          attempt: 'giveBack',
          log: { action: 'released', details: fence.reason ?? null },
        },
        'release',
      );
    },

    async cancel(id: number, by?: { user?: string | null; reason?: string | null }): Promise<Task> {
      const t = now();
      const details = [by?.user ? `by ${by.user}` : null, by?.reason ?? null].filter(Boolean).join(': ') || null;
      return transition(
        {
          taskId: id, from: NOT_FINAL, now: t,
          set: { status: 'cancelled', completedAt: t, leaseToken: null, leaseExpiresAt: null },
          log: { action: 'cancelled', details },
          cascade: 'block',
        },
        'cancel',
      );
    },

    async setPriority(id: number, priority: Priority, by?: string | null): Promise<Task> {
      return transition(
        { taskId: id, from: NOT_FINAL, now: now(), set: { priority }, log: { action: 'priority', details: `set to ${priority}${by ? ` by ${by}` : ''}` } },
        'change the priority of',
      );
    },

    /** The holder asks a human a question; the lease pauses until the answer comes. */
    async askForInput(id: number, fence: Fence & { question: string }): Promise<Task> {
      const question = fence.question?.trim();
      if (!question) throw new InvalidError('question must not be empty');
      return transition(
        {
          taskId: id, from: ['in_progress'], ...fenceOf(fence, 'ask for input on'), now: now(), holderSeen: true,
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
      return transition(
        {
          taskId: id, from: ['needs_input'], now: t,
          set: { status: 'in_progress', answer, leaseExpiresAt: t + config.leaseMs, leaseMs: config.leaseMs },
          log: { action: 'answered', details: input.by ? `by ${input.by}: ${answer}` : answer },
        },
        'answer',
      );
    },

    /** A failed task goes back to pending with fresh attempts; blocked dependants follow. */
    async retry(id: number, by?: string | null): Promise<Task> {
      const t = now();
      return transition(
        {
          taskId: id, from: ['failed'], now: t,
          // A retried task gets its full attempt budget again.
          set: { status: 'pending', attempts: 0, runAfter: t, instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, completedAt: null },
          log: { action: 'retried', details: by ? `by ${by}` : null },
          cascade: 'unblock',
        },
        'retry',
      );
    },

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

    /**
     * Posts a message about the queue as a whole (daily summary, retention notice) through the event
     * log, so it is delivered like every notification: durably, once, by whichever replica runs Discord.
     */
    async announce(kind: AnnouncementKind, text: string): Promise<TaskEvent> {
      const event = await store.recordEvent({ action: kind, details: text }, now());
      publish([event]);
      return event;
    },

    /**
     * Requeues (or fails, after the last attempt) tasks whose lease ran out: their attempt stays used.
     * Also fails pending tasks with no attempt left (imported so), which no claim takes.
     */
    async sweepExpiredLeases(): Promise<{ requeued: number; failed: number }> {
      const t = now();
      let requeued = 0;
      let failed = 0;
      const settle = async (move: () => Promise<Task>) => {
        try {
          if ((await move()).status === 'failed') failed++;
          else requeued++;
        } catch (err) {
          // The holder completed or heartbeated in the meantime: its lease is no longer expired.
          if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
        }
      };
      for (;;) {
        const expired = await store.expiredLeases(t, 200);
        for (const lease of expired) {
          await settle(() => requeueOrFail(lease, { leaseToken: lease.leaseToken, leaseExpiredBefore: t }, expiryReason(lease.leaseMs), true, ['in_progress']));
        }
        if (expired.length < 200) break;
      }
      for (;;) {
        const spent = await store.spentTasks(200);
        for (const task of spent) await settle(() => failSpent(task));
        if (spent.length < 200) break;
      }
      return { requeued, failed };
    },

    /** Marks agents not seen since `seenBefore` offline; returns their ids. Their tasks keep their leases. */
    markInstancesOffline(seenBefore: number): Promise<string[]> {
      return store.markInstancesOffline(seenBefore);
    },

    ...reads,
    ...createEventLog(store, now),
    ...createBulkActions(store, publish, now),
  };
}
