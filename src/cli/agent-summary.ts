// What an agent wants to know at a glance (CLI `check`, MCP `queue_status`): counts, the next tasks, what it holds.
import type { AthenaClient } from '../client/index.js';
import type { AgentIdentity, StatsJson, TaskJson } from '../client/types.js';

/** The states in which an agent holds a task, as a `status` filter. */
export const HELD_STATUSES = 'in_progress,needs_input';

export type AgentSummary = { stats: StatsJson; next: TaskJson[]; held: TaskJson[] };

export async function agentSummary(client: AthenaClient, agent: AgentIdentity, nextCount = 5): Promise<AgentSummary> {
  const [stats, upcoming, held] = await Promise.all([
    client.stats(),
    client.list({ status: 'pending', limit: nextCount }),
    client.list({ status: HELD_STATUSES, instance_id: agent.instanceId, limit: 50 }),
  ]);
  return { stats, next: upcoming.tasks, held: held.tasks };
}
