// The task lifecycle: each transition validates, runs one atomic store call, and emits its events.
import { randomUUID } from 'node:crypto';
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import type { LabelScope, Store, TransitionOutcome, TransitionSpec } from '../store/store.js';
import { retryDelayMs } from './backoff.js';
import { refusalError } from './refusals.js';
import { createOffers } from './offers.js';
import { createQueueReads } from './queue-reads.js';
import { createBulkActions } from './bulk-actions.js';
import type { EventBus } from './events.js';
import { LIMITS } from './limits.js';
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

  async function validateDependencies(dependsOn: number[], selfId?: number): Promise<void> {
    if (dependsOn.length === 0) return;
    if (selfId !== undefined && dependsOn.includes(selfId)) {
      throw new InvalidError(`Task #${selfId} cannot depend on itself`, { taskId: selfId }, 'DEPENDENCY_CYCLE');
    }
    const found = await store.existingIds(dependsOn);
    const missing = dependsOn.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new InvalidError(`Unknown dependency id(s): ${missing.map((id) => `#${id}`).join(', ')}`, { missing }, 'UNKNOWN_DEPENDENCY');
    }
    if (selfId !== undefined) {
      const reachable = await store.dependencyClosure(dependsOn);
      if (reachable.has(selfId)) {
        throw new InvalidError(`Adding these dependencies to #${selfId} would create a cycle`, { taskId: selfId }, 'DEPENDENCY_CYCLE');
      }
    }
  }

  async function requeueOrFail(
    task: { id: number; attempts: number; maxAttempts: number },
    fence: Pick<TransitionSpec, 'leaseToken' | 'leaseExpiredBefore' | 'holderSeen'>,
    error: string,
    retry: boolean,
    from: readonly TaskStatus[],
  ): Promise<Task> {
    const t = now();
    if (retry && task.attempts < task.maxAttempts) {
      const delay = retryDelayMs(task.attempts, config.retryBaseMs, random);
      return transition(
        {
          taskId: task.id, from, ...fence, now: t,
          set: { status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, runAfter: t + delay, error, question: null, answer: null },
          log: { action: 'requeued', details: `attempt ${task.attempts} of ${task.maxAttempts} failed: ${error.slice(0, 500)}; retry in ${Math.round(delay / 1000)}s` },
        },
        'requeue',
      );
    }
    const suffix = retry ? ` (after ${task.attempts} of ${task.maxAttempts} attempts)` : '';
    return transition(
      {
        taskId: task.id, from, ...fence, now: t,
        set: { status: 'failed', completedAt: t, leaseToken: null, leaseExpiresAt: null, error },
        log: { action: 'failed', details: `${error.slice(0, 500)}${suffix}` },
        cascade: 'block',
      },
      'fail',
    );
  }

  return {
    store,
    bus,
    config,
    now,

    async create(input: CreateInput): Promise<{ task: Task; created: boolean }> {
      const description = input.description?.trim() ?? '';
      if (!description) throw new InvalidError('description must not be empty');
      if (description.length > LIMITS.descriptionMax) throw new InvalidError(`description is longer than ${LIMITS.descriptionMax} characters`);
      const dependsOn = [...new Set(input.dependsOn ?? [])];
      const labels = [...new Set(input.labels ?? [])].sort();
      await validateDependencies(dependsOn);
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
      const task = await transition(
        {
          taskId: id, from: ['pending'], claimable: true, now: t,
          wipLimit: config.wipLimit > 0 ? { instanceId: agent.instanceId, max: config.wipLimit } : undefined,
          set: { status: 'in_progress', instanceId: agent.instanceId, instanceName: agent.instanceName ?? null, claimedAt: t, leaseToken, leaseExpiresAt: t + leaseLength(agent.leaseMs), question: null, answer: null },
          incrementAttempts: true,
          log: { action: 'claimed', details: `by ${agent.instanceName ?? agent.instanceId}`, instanceId: agent.instanceId },
          instance: { id: agent.instanceId, name: agent.instanceName ?? null, seen: true },
        },
        'claim',
      );
      offers.release(id);
      return { ...task, leaseToken };
    },

    async heartbeat(id: number, fence: Fence & { leaseMs?: number | null; progress?: string | null }): Promise<Task> {
      const t = now();
      const spec = fenceOf(fence, 'heartbeat');
      try {
        return await transition(
          {
            taskId: id, from: ['in_progress'], ...spec, now: t, holderSeen: true,
            set: { leaseExpiresAt: t + leaseLength(fence.leaseMs) },
            log: { action: 'heartbeat', details: fence.progress ?? null },
          },
          'heartbeat',
        );
      } catch (err) {
        // Waiting for a human answer is not a lost lease: the holder may keep asking.
        const task = await store.getTask(id);
        const holds =
          task?.status === 'needs_input' &&
          (spec.leaseToken === undefined || (await store.leaseTokenOf(id)) === spec.leaseToken) &&
          (spec.instanceId === undefined || task.instanceId === spec.instanceId);
        if (task && holds) {
          if (task.instanceId) await store.touchInstance(task.instanceId, null, t);
          return task;
        }
        throw err;
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

    async fail(id: number, fence: Fence & { error: string; retry?: boolean }): Promise<Task> {
      const spec = fenceOf(fence, 'fail');
      const task = await reads.get(id);
      const error = fence.error?.trim() || 'failed without a message';
      return requeueOrFail(task, { ...spec, holderSeen: true }, error, fence.retry === true, ['in_progress', 'needs_input']);
    },

    async release(id: number, fence: Fence & { reason?: string | null }): Promise<Task> {
      return transition(
        {
          taskId: id, from: ['in_progress', 'needs_input'], ...fenceOf(fence, 'release'), now: now(), holderSeen: true,
          set: { status: 'pending', instanceId: null, instanceName: null, leaseToken: null, leaseExpiresAt: null, question: null, answer: null },
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
          set: { status: 'in_progress', answer, leaseExpiresAt: t + config.leaseMs },
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
      const task = await reads.get(id);
      if (!['pending', 'blocked'].includes(task.status)) {
        throw new ConflictError('CONFLICT', `Cannot add dependencies to task #${id}: it is ${task.status}`, { taskId: id });
      }
      const unique = [...new Set(dependsOn)];
      await validateDependencies(unique, id);
      const result = await store.addDependencies(id, unique, now());
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

    /** Requeues (or fails, after the last attempt) tasks whose lease ran out. Returns how many moved. */
    async sweepExpiredLeases(): Promise<{ requeued: number; failed: number }> {
      const t = now();
      let requeued = 0;
      let failed = 0;
      for (;;) {
        const expired = await store.expiredLeases(t, 200);
        for (const lease of expired) {
          try {
            const task = await requeueOrFail(lease, { leaseToken: lease.leaseToken, leaseExpiredBefore: t }, `lease expired (no heartbeat for ${Math.round(config.leaseMs / 1000)}s)`, true, ['in_progress']);
            if (task.status === 'failed') failed++;
            else requeued++;
          } catch (err) {
            // The holder completed or heartbeated in the meantime: its lease is no longer expired.
            if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
          }
        }
        if (expired.length < 200) break;
      }
      return { requeued, failed };
    },

    ...reads,
    ...createBulkActions(store, publish, now),
  };
}
