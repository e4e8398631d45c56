// The daily summary (last 24 h: created/completed/failed, slowest tasks, busiest agents) and the loop that publishes it at SUMMARY_TIME.
import type { TaskStatus } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import type { LoopSpec } from './loop-runner.js';
import { DAY_MS } from './retention.js';

export type SlowTask = { taskId: number; description: string; instanceId: string | null; instanceName: string | null; durationMs: number; completedAt: number };
export type AgentActivity = { instanceId: string; instanceName: string | null; claimed: number; completed: number; failed: number };

export type DailySummary = {
  from: number;
  to: number;
  /** Transitions in the window (from, to], counted from the task log. */
  created: number;
  completed: number;
  failed: number;
  requeued: number;
  cancelled: number;
  /** The queue as it is at `to`. */
  byStatus: Record<TaskStatus, number>;
  oldestPendingAt: number | null;
  /** Completed in the window, longest claim-to-completion first. */
  slowest: SlowTask[];
  /** Agents by tasks completed in the window, then by claims. */
  busiestAgents: AgentActivity[];
  /** Finished tasks the retention loop will purge within the next day (null when retention is off). */
  purgeableWithinDay: number | null;
};

export type SummaryOptions = { limit?: number; retentionDays?: number };

const COUNTED = ['created', 'completed', 'failed', 'requeued', 'cancelled'] as const;
const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'needs_input', 'completed', 'failed', 'cancelled', 'blocked'];
const num = (v: unknown): number => Number(v ?? 0);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * Builds the summary of the 24 hours before `now` with plain SQL that both backends run. It reads
 * the database directly (not the Store) because these aggregates exist only for this report.
 */
export async function buildDailySummary(db: Queryable, now: number, options: SummaryOptions = {}): Promise<DailySummary> {
  const from = now - DAY_MS;
  const limit = options.limit ?? 5;

  const counts = Object.fromEntries(COUNTED.map((a) => [a, 0])) as Record<(typeof COUNTED)[number], number>;
  const actions = await db.all<{ action: string; n: unknown }>(
    `SELECT action, COUNT(*) AS n FROM task_logs WHERE timestamp > ? AND timestamp <= ? AND action IN (${COUNTED.map(() => '?').join(', ')}) GROUP BY action`,
    [from, now, ...COUNTED],
  );
  for (const row of actions) counts[row.action as (typeof COUNTED)[number]] = num(row.n);

  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const row of await db.all<{ status: TaskStatus; n: unknown }>('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status')) {
    byStatus[row.status] = num(row.n);
  }
  const oldest = await db.get<{ at: unknown }>(`SELECT MIN(created_at) AS at FROM tasks WHERE status = 'pending'`);

  const slowRows = await db.all<Record<string, unknown>>(
    `SELECT id, description, instance_id, instance_name, claimed_at, completed_at FROM tasks
     WHERE status = 'completed' AND completed_at > ? AND completed_at <= ? AND claimed_at IS NOT NULL
     ORDER BY completed_at - claimed_at DESC, id LIMIT ?`,
    [from, now, limit],
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
    [from, now],
  );
  for (const r of claims) agent(String(r.instance_id), str(r.name)).claimed = num(r.n);
  const finished = await db.all<Record<string, unknown>>(
    `SELECT instance_id, MAX(instance_name) AS name,
            SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
            SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed
     FROM tasks WHERE status IN ('completed', 'failed') AND completed_at > ? AND completed_at <= ? AND instance_id IS NOT NULL
     GROUP BY instance_id`,
    [from, now],
  );
  for (const r of finished) {
    const a = agent(String(r.instance_id), str(r.name));
    a.completed = num(r.completed);
    a.failed = num(r.failed);
  }
  const busiestAgents = [...agents.values()]
    .sort((a, b) => b.completed - a.completed || b.claimed - a.claimed || a.instanceId.localeCompare(b.instanceId))
    .slice(0, limit);

  let purgeableWithinDay: number | null = null;
  if (options.retentionDays && options.retentionDays > 0) {
    // The same rule as Store.countPurgeable, a day ahead: what the retention loop announces.
    const row = await db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM tasks WHERE status IN ('completed', 'cancelled') AND updated_at < ?`, [
      now - options.retentionDays * DAY_MS + DAY_MS,
    ]);
    purgeableWithinDay = num(row?.n);
  }

  return {
    from,
    to: now,
    ...counts,
    byStatus,
    oldestPendingAt: oldest?.at === null || oldest?.at === undefined ? null : num(oldest.at),
    slowest,
    busiestAgents,
    purgeableWithinDay,
  };
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.max(1, Math.round(ms / 1000))}s`;
  if (minutes < 60) return `${minutes}min`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}`;
}

/** Plain-text form (Markdown-friendly) for logs and chat. */
export function summaryText(summary: DailySummary, timeZone = 'UTC'): string {
  const day = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'medium', timeStyle: 'short' }).format(new Date(summary.to));
  const lines = [
    `Daily summary (24 h to ${day} ${timeZone})`,
    `Created ${summary.created} · completed ${summary.completed} · failed ${summary.failed} · requeued ${summary.requeued} · cancelled ${summary.cancelled}`,
    `Now: ${summary.byStatus.pending} pending, ${summary.byStatus.in_progress} in progress, ${summary.byStatus.needs_input} waiting for input, ${summary.byStatus.blocked} blocked`,
  ];
  if (summary.slowest.length > 0) {
    lines.push('Slowest:');
    for (const t of summary.slowest) lines.push(`  #${t.taskId} ${duration(t.durationMs)} ${t.instanceName ?? t.instanceId ?? ''} — ${t.description.slice(0, 80)}`);
  }
  if (summary.busiestAgents.length > 0) {
    lines.push('Busiest agents:');
    for (const a of summary.busiestAgents) lines.push(`  ${a.instanceName ?? a.instanceId}: ${a.completed} completed, ${a.failed} failed, ${a.claimed} claims`);
  }
  if (summary.purgeableWithinDay) lines.push(`Retention: ${summary.purgeableWithinDay} finished task(s) will be purged within a day`);
  return lines.join('\n');
}

export type SummaryLoopOptions = {
  db: Queryable;
  now: () => number;
  at: string;
  timeZone: string;
  retentionDays?: number;
  /** Where the summary goes (the Discord notifier posts it); by default it is only logged. */
  onSummary?: (summary: DailySummary) => void | Promise<void>;
};

export function dailySummaryLoop(options: SummaryLoopOptions): LoopSpec {
  return {
    name: 'summary',
    schedule: { kind: 'daily', at: options.at, timeZone: options.timeZone },
    async run({ log }) {
      const summary = await buildDailySummary(options.db, options.now(), { retentionDays: options.retentionDays });
      log.info(
        { created: summary.created, completed: summary.completed, failed: summary.failed, pending: summary.byStatus.pending },
        'daily summary',
      );
      await options.onSummary?.(summary);
      return summary;
    },
  };
}
