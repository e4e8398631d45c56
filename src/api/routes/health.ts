// Liveness (/health, always 200 while the process serves) and readiness (/ready).
import type { FastifyInstance } from 'fastify';
import type { AppContext, HealthReport } from '../context.js';

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  const check = async (): Promise<HealthReport> => {
    const checks: HealthReport['checks'] = {};
    try {
      await ctx.queue.store.ping();
      checks.database = { ok: true };
    } catch (err) {
      checks.database = { ok: false, detail: (err as Error).message };
    }
    Object.assign(checks, (await ctx.health?.()) ?? {});
    const healthy = Object.values(checks).every((c) => c.ok);
    return { status: healthy ? 'healthy' : 'degraded', checks };
  };

  app.get('/health', { schema: { tags: ['health'], summary: 'Liveness: 200 while serving; status "degraded" when a check fails', security: [] } }, async () => {
    const report = await check();
    return { status: report.status, service: 'athena-bot', checks: report.checks };
  });

  app.get('/ready', { schema: { tags: ['health'], summary: 'Readiness: 503 while starting, draining or when the database fails', security: [] } }, async (_request, reply) => {
    const report = await check();
    const ready = (ctx.ready?.() ?? true) && report.checks.database?.ok === true;
    reply.code(ready ? 200 : 503);
    return { ready, status: report.status, checks: report.checks };
  });
}
