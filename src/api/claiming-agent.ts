// The agent a claim is made for, from claim-next's fields: claim-next's own body, or a complete's `claim_next`.
import type { LabelScope } from '../core/ports.js';

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
