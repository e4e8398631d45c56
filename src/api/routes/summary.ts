// GET /api/summary: the daily summary of the last 24 hours, on demand.
import type { FastifyInstance } from 'fastify';
import type { DailySummary } from '../../jobs/summary.js';
import type { AppContext } from '../context.js';
import { NotFoundError } from '../../errors.js';
import { iso } from '../serialize.js';
import { replies } from '../openapi.js';
import { z } from 'zod';
import { TASK_STATUSES } from '../../core/types.js';

const time = z.string().describe('ISO 8601, UTC');
const summaryAnswer = z.object({
  from: time,
  to: time,
  created: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  requeued: z.number().int(),
  cancelled: z.number().int(),
  now: z.object({ ...Object.fromEntries(TASK_STATUSES.map((s) => [s, z.number().int()])), oldest_pending_at: time.nullable() }).describe('the queue as it is now'),
  slowest: z.array(
    z.object({
      task_id: z.number().int(),
      description: z.string(),
      instance_id: z.string().nullable(),
      instance_name: z.string().nullable(),
      duration_seconds: z.number().int(),
      completed_at: time,
    }),
  ),
  busiest_agents: z.array(
    z.object({ instance_id: z.string(), instance_name: z.string().nullable(), completed: z.number().int(), failed: z.number().int(), claimed: z.number().int() }),
  ),
  purgeable_within_day: z.number().int().nullable().describe('finished tasks the retention loop purges within a day; null when retention is off'),
});

export function summaryJson(s: DailySummary) {
  return {
    from: iso(s.from),
    to: iso(s.to),
    created: s.created,
    completed: s.completed,
    failed: s.failed,
    requeued: s.requeued,
    cancelled: s.cancelled,
    now: { ...s.byStatus, oldest_pending_at: iso(s.oldestPendingAt) },
    slowest: s.slowest.map((t) => ({
      task_id: t.taskId,
      description: t.description,
      instance_id: t.instanceId,
      instance_name: t.instanceName,
      duration_seconds: Math.round(t.durationMs / 1000),
      completed_at: iso(t.completedAt),
    })),
    busiest_agents: s.busiestAgents.map((a) => ({
      instance_id: a.instanceId,
      instance_name: a.instanceName,
      completed: a.completed,
      failed: a.failed,
      claimed: a.claimed,
    })),
    purgeable_within_day: s.purgeableWithinDay,
  };
}

export function summaryRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/api/summary',
    { schema: { tags: ['queue'], summary: 'Last 24 h: created/completed/failed counts, slowest tasks, busiest agents (what the daily summary posts)', response: replies({ 200: summaryAnswer }, [404]) } },
    async () => {
      if (!ctx.summary) throw new NotFoundError('The summary is not available on this server');
      return summaryJson(await ctx.summary());
    },
  );
}
