// What happened in a window of time, for the daily summary: aggregates over the task log and the tasks table (both backends).
import type { Activity, ActivityCounted, AgentActivity } from '../core/ports.js';
import type { TaskStatus } from '../core/types.js';
import type { Queryable } from './db.js';

const num = (v: unknown): number => Number(v ?? 0);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Aggregates of the window (from, to]; `limit` bounds the slowest tasks listed. */
export async function readActivity(db: Queryable, from: number, to: number, counted: readonly ActivityCounted[], limit: number): Promise<Activity> {
  const counts: Partial<Record<ActivityCounted, number>> = {};
  const actions = await db.all<{ action: ActivityCounted; n: unknown }>(
    `SELECT action, COUNT(*) AS n FROM task_logs WHERE timestamp > ? AND timestamp <= ? AND action IN (${counted.map(() => '?').join(', ')}) GROUP BY action`,
    [from, to, ...counted],
  );
  for (const row of actions) counts[row.action] = num(row.n);

  const byStatus: Partial<Record<TaskStatus, number>> = {};
  for (const row of await db.all<{ status: TaskStatus; n: unknown }>('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status')) {
    byStatus[row.status] = num(row.n);
  }
  const oldest = await db.get<{ at: unknown }>(`SELECT MIN(created_at) AS at FROM tasks WHERE status = 'pending'`);

  const slowRows = await db.all<Record<string, unknown>>(
    `SELECT id, description, instance_id, instance_name, claimed_at, completed_at FROM tasks
     WHERE status = 'completed' AND completed_at > ? AND completed_at <= ? AND claimed_at IS NOT NULL
     ORDER BY completed_at - claimed_at DESC, id LIMIT ?`,
    [from, to, limit],
  );
  const slowest = slowRows.map((r) => ({
    taskId: num(r.id),
    description: String(r.description).slice(0, 200),
    instanceId: str(r.instance_id),
    instanceName: str(r.instance_name),
    durationMs: num(r.completed_at) - num(r.claimed_at),
    completedAt: num(r.completed_at),
  }));

  const agents = new Map<string, AgentActivity>();
  const agent = (id: string, name: string | null): AgentActivity => {
    let a = agents.get(id);
    if (!a) agents.set(id, (a = { instanceId: id, instanceName: name, claimed: 0, completed: 0, failed: 0 }));
    a.instanceName ??= name;
    return a;
  };
  const claims = await db.all<Record<string, unknown>>(
    `SELECT l.instance_id, MAX(i.name) AS name, COUNT(*) AS n FROM task_logs l LEFT JOIN instances i ON i.id = l.instance_id
     WHERE l.action = 'claimed' AND l.timestamp > ? AND l.timestamp <= ? AND l.instance_id IS NOT NULL GROUP BY l.instance_id`,
    [from, to],
  );
  for (const r of claims) agent(String(r.instance_id), str(r.name)).claimed = num(r.n);
  const finished = await db.all<Record<string, unknown>>(
    `SELECT instance_id, MAX(instance_name) AS name,
            SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
            SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed
     FROM tasks WHERE status IN ('completed', 'failed') AND completed_at > ? AND completed_at <= ? AND instance_id IS NOT NULL
     GROUP BY instance_id`,
    [from, to],
  );
  for (const r of finished) {
    const a = agent(String(r.instance_id), str(r.name));
    a.completed = num(r.completed);
    a.failed = num(r.failed);
  }

  return {
    counts,
    byStatus,
    oldestPendingAt: oldest?.at === null || oldest?.at === undefined ? null : num(oldest.at),
    slowest,
    agents: [...agents.values()],
  };
}
