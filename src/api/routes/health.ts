// Liveness (/health, always 200 while the process serves) and readiness (/ready) without a key, saying
// only how things are; what each check found (database errors, leadership, Discord) is at /api/health.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext, HealthReport } from '../context.js';
import { NO_KEY, replies } from '../openapi.js';
import { withDeadline } from '../../timing.js';

// The name the original API answered /health with; kept (though the service is more than a bot now)
// because clients and monitors written against that API match on it.
const SERVICE = 'athena-bot';

const healthStatus = z.enum(['healthy', 'degraded']);
const liveness = z.object({ status: healthStatus, service: z.literal(SERVICE) });
const readiness = z.object({ ready: z.boolean() });
const healthDetail = liveness.extend({
  ready: z.boolean(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })).describe('what each check found, by name (database, discord, loops …)'),
});

/** How long health answers may wait for their checks when HEALTH_TIMEOUT_SECONDS is not set. */
const DEFAULT_HEALTH_TIMEOUT_MS = 2_000;

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  const timeoutMs = (ctx.config.HEALTH_TIMEOUT_SECONDS ?? DEFAULT_HEALTH_TIMEOUT_MS / 1000) * 1000;

  // Every check shares one deadline, so a database that hangs (rather than failing) still gets an
  // answer out in time: monitors and load balancers must hear "degraded", not time out themselves.
  const check = async (): Promise<HealthReport> => {
    const deadline = Date.now() + timeoutMs;
    const inTime = <T>(work: Promise<T> | T): Promise<T> =>
      withDeadline(Promise.resolve(work), Math.max(0, deadline - Date.now()), `no answer within ${timeoutMs / 1000} s`);
    const checks: HealthReport['checks'] = {};
    try {
      await inTime(ctx.queue.ping());
      checks.database = { ok: true };
    } catch (err) {
      checks.database = { ok: false, detail: (err as Error).message };
    }
    if (checks.database.ok) {
      try {
        // Not a fault: shown so whoever checks health sees at once why no work is handed out.
        const pauses = await inTime(ctx.queue.pauses());
        if (pauses.length > 0) {
          checks.paused = { ok: true, detail: pauses.map((p) => `${p.scope} paused${p.pausedBy ? ` by ${p.pausedBy}` : ''}${p.reason ? ` (${p.reason})` : ''}`).join('; ') };
        }
      } catch {
        // the database answered the ping just before; a late pause read only leaves pauses unshown
      }
    }
    try {
      Object.assign(checks, (await inTime(ctx.health?.())) ?? {});
    } catch (err) {
      checks.server = { ok: false, detail: (err as Error).message };
    }
    const healthy = Object.values(checks).every((c) => c.ok);
    return { status: healthy ? 'healthy' : 'degraded', checks };
  };
  const isReady = (report: HealthReport) => (ctx.ready?.() ?? true) && report.checks.database?.ok === true;

  app.get('/health', { schema: { tags: ['health'], summary: 'Liveness: 200 while serving; status "degraded" when a check fails (details: GET /api/health)', security: NO_KEY, response: replies({ 200: liveness }, [], { keyed: false }) } }, async () => {
    const report = await check();
    return { status: report.status, service: SERVICE };
  });

  app.get('/ready', { schema: { tags: ['health'], summary: 'Readiness: 503 while starting, draining or when the database fails', security: NO_KEY, response: replies({ 200: readiness, 503: readiness.describe('not ready') }, [], { keyed: false }) } }, async (_request, reply) => {
    const ready = isReady(await check());
    reply.code(ready ? 200 : 503);
    return { ready };
  });

  app.get('/api/health', { schema: { tags: ['health'], summary: 'Health with every check and what it found (needs a key, any role)', response: replies({ 200: healthDetail }) } }, async () => {
    const report = await check();
    return { status: report.status, service: SERVICE, ready: isReady(report), checks: report.checks };
  });
}
