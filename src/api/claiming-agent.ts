// The agent a claim is made for, from claim-next's fields: claim-next's own body, or the `claim_next` of
// a complete or fail; and that claim, made once the change before it has committed.
import type { FastifyBaseLogger } from 'fastify';
import type { LabelScope } from '../core/ports.js';
import type { Queue } from '../core/queue.js';
import type { ClaimedTask } from '../core/types.js';
import { AthenaError } from '../errors.js';

export type ClaimFields = {
  instance_name?: string | null;
  lease_seconds?: number;
  labels?: string[] | '*';
  project?: string | string[];
};

export function claimingAgent(instanceId: string, f: ClaimFields): { instanceId: string; instanceName: string; labels: LabelScope; projects: string[]; leaseMs: number | null } {
  return {
    instanceId,
    instanceName: f.instance_name ?? instanceId,
    labels: f.labels ?? [],
    projects: f.project === undefined ? [] : [f.project].flat(),
    leaseMs: f.lease_seconds ? f.lease_seconds * 1000 : null,
  };
}

/**
 * The agent's next task, claimed after its complete or fail has committed (one request per task for
 * an agent that goes on working). That change stands whatever happens here, so a claim that fails
 * answers null instead of failing the request: the agent's next claim-next meets the same refusal (a
 * WIP limit, an outage) and reports it.
 */
export async function claimAfter(queue: Queue, log: FastifyBaseLogger, instanceId: string, f: ClaimFields, after: number): Promise<ClaimedTask | null> {
  try {
    return await queue.claimNext(claimingAgent(instanceId, f));
  } catch (err) {
    if (!(err instanceof AthenaError)) log.warn({ err, taskId: after }, 'claiming the next task after this one failed');
    return null;
  }
}
