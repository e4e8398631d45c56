// The daily summary (last 24 h: created/completed/failed, slowest tasks, busiest agents) and the loop that publishes it at SUMMARY_TIME.
import type { TaskStatus } from '../core/types.js';
import type { Queue } from '../core/queue.js';
import type { AgentActivity, SlowTask } from '../core/ports.js';
import type { LoopSpec } from './loop-runner.js';
import { DAY_MS } from './retention.js';

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
const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'needs_input', 'in_review', 'completed', 'failed', 'cancelled', 'blocked'];

export type SummarySource = Pick<Queue, 'activity' | 'countPurgeable'>;

/** Builds the summary of the 24 hours before `now` from the queue's activity in that window. */
export async function buildDailySummary(queue: SummarySource, now: number, options: SummaryOptions = {}): Promise<DailySummary> {
  const from = now - DAY_MS;
  const limit = options.limit ?? 5;
  const activity = await queue.activity(from, now, COUNTED, limit);
  const counts = Object.fromEntries(COUNTED.map((a) => [a, activity.counts[a] ?? 0])) as Record<(typeof COUNTED)[number], number>;
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, activity.byStatus[s] ?? 0])) as Record<TaskStatus, number>;
  const busiestAgents = [...activity.agents]
    .sort((a, b) => b.completed - a.completed || b.claimed - a.claimed || a.instanceId.localeCompare(b.instanceId))
    .slice(0, limit);
  // What the retention loop will announce a day from now.
  const purgeableWithinDay =
    options.retentionDays && options.retentionDays > 0 ? await queue.countPurgeable(now - options.retentionDays * DAY_MS + DAY_MS) : null;

  return {
    from,
    to: now,
    ...counts,
    byStatus,
    oldestPendingAt: activity.oldestPendingAt,
    slowest: activity.slowest,
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
    `Now: ${summary.byStatus.pending} pending, ${summary.byStatus.in_progress} in progress, ${summary.byStatus.needs_input} waiting for input, ${summary.byStatus.in_review} in review, ${summary.byStatus.blocked} blocked`,
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
  queue: SummarySource & Pick<Queue, 'now'>;
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
      const summary = await buildDailySummary(options.queue, options.queue.now(), { retentionDays: options.retentionDays });
      log.info(
        { created: summary.created, completed: summary.completed, failed: summary.failed, pending: summary.byStatus.pending },
        'daily summary',
      );
      await options.onSummary?.(summary);
      return summary;
    },
  };
}
