// What every transition shares: the store, the clock, lease lengths, fencing, and "run one atomic change, then emit its events".
import { randomUUID } from 'node:crypto';
import { InvalidError } from '../../errors.js';
import type { EventBus } from '../events.js';
import type { Store, TransitionOutcome, TransitionSpec } from '../ports.js';
import type { createQueueReads } from '../queue-reads.js';
import { refusalError } from '../refusals.js';
import type { TaskEvent, Task, TaskStatus } from '../types.js';
import type { ReviewConfig } from './review.js';
import type { OutputFeed } from '../task-output.js';

export type QueueConfig = {
  /** Default lease length; an agent may ask for another within [leaseMinMs, leaseMaxMs]. */
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** Max tasks one instance may hold at once; 0 means no limit. */
  wipLimit: number;
  /** Which tasks require review by default, and the agent preference after changes are requested. */
  review?: ReviewConfig;
  /** What is kept of each run's live output (its newest bytes); default 1 MiB. */
  outputMaxBytes?: number;
  /** Time zone of schedules that name none (TZ); default UTC. */
  timeZone?: string;
};

export type QueueDeps = {
  store: Store;
  bus: EventBus;
  /** Where new live output is announced; a private one when not given. */
  outputFeed?: OutputFeed;
  config: QueueConfig;
  clock?: () => number;
  random?: () => number;
  newToken?: () => string;
};

export type Agent = { instanceId: string; instanceName?: string | null };

export type Fence = { leaseToken?: string | null; instanceId?: string | null };

const LEASE_MIN_MS = 5_000;
const LEASE_MAX_MS = 24 * 60 * 60 * 1000;
export const NOT_FINAL: readonly TaskStatus[] = ['pending', 'in_progress', 'needs_input', 'in_review', 'blocked'];

export type TransitionKit = ReturnType<typeof createTransitionKit>;

export function createTransitionKit(deps: QueueDeps, reads: ReturnType<typeof createQueueReads>) {
  const { store, bus, config } = deps;
  const now = deps.clock ?? Date.now;

  const publish = (events: TaskEvent[]) => {
    for (const event of events) bus.emit(event);
  };

  return {
    store,
    config,
    now,
    random: deps.random ?? Math.random,
    newToken: deps.newToken ?? randomUUID,
    reads,
    publish,

    /** The lease asked for, or the default; refused outside [5 s, 24 h]. */
    leaseLength(ms?: number | null): number {
      if (ms === undefined || ms === null) return config.leaseMs;
      if (!Number.isFinite(ms) || ms < LEASE_MIN_MS || ms > LEASE_MAX_MS) {
        throw new InvalidError(`lease must be between ${LEASE_MIN_MS / 1000} and ${LEASE_MAX_MS / 1000} seconds`);
      }
      return ms;
    },

    /** Runs a transition; on refusal, explains why with the task's current state. */
    async run(spec: TransitionSpec, verb: string): Promise<Task> {
      const outcome: TransitionOutcome = await store.transition(spec);
      if (outcome.ok) {
        publish(outcome.events);
        return outcome.task;
      }
      throw refusalError(spec, outcome.current, outcome.heldByInstance, verb, outcome.heldBack);
    },

    /** Both, when both are given: an agent whose identity is fixed (by its key) may not use another's token. */
    fenceOf(fence: Fence, verb: string): Pick<TransitionSpec, 'leaseToken' | 'instanceId'> {
      if (!fence.leaseToken && !fence.instanceId) throw new InvalidError(`lease_token (or instance_id) is required to ${verb} a task`);
      return {
        ...(fence.leaseToken ? { leaseToken: fence.leaseToken } : {}),
        ...(fence.instanceId ? { instanceId: fence.instanceId } : {}),
      };
    },
  };
}
