// claimNext (the best claimable task, in one atomic step) and claim (the original protocol: a task picked by id).
import { ConflictError } from '../../errors.js';
import type { LabelScope, TransitionSpec } from '../ports.js';
import { refusalError } from '../refusals.js';
import type { ClaimedTask } from '../types.js';
import type { Agent, TransitionKit } from './kit.js';
import { attemptEndings } from './requeue-or-fail.js';

export function claimTransitions(kit: TransitionKit) {
  const { store, config, now, newToken, publish } = kit;
  const { failSpent } = attemptEndings(kit);
  return {
    /** Claims the best claimable task for this agent in one atomic step, or returns null. */
    async claimNext(agent: Agent & { labels?: LabelScope; projects?: string[]; leaseMs?: number | null }): Promise<ClaimedTask | null> {
      const t = now();
      const leaseToken = newToken();
      const outcome = await store.claimNext({
        instanceId: agent.instanceId,
        instanceName: agent.instanceName ?? null,
        labels: agent.labels ?? [],
        projects: agent.projects ?? [],
        leaseToken,
        leaseExpiresAt: t + kit.leaseLength(agent.leaseMs),
        wipLimit: config.wipLimit,
        now: t,
      });
      if (outcome.ok) {
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
      const leaseMs = kit.leaseLength(agent.leaseMs);
      const spec: TransitionSpec = {
        taskId: id, from: ['pending'], claimable: true, assignableTo: agent.instanceId, now: t,
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
        throw refusalError(spec, current, outcome.heldByInstance, 'claim', outcome.heldBack);
      }
      publish(outcome.events);
      return { ...outcome.task, leaseToken };
    },
  };
}
