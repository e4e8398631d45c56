// Liveness (/health, always 200 while the process serves) and readiness (/ready) without a key, saying
// only how things are; what each check found (database errors, leadership, Discord) is at /api/health.
import type { FastifyInstance } from 'fastify';
import type { AppContext, HealthReport } from '../context.js';

// The name the original API answered /health with; kept (though the service is more than a bot now)
// because clients and monitors written against that API match on it.
const SERVICE = 'athena-bot';

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  const check = async (): Promise<HealthReport> => {
    const checks: HealthReport['checks'] = {};
    try {
      await ctx.queue.ping();
      checks.database = { ok: true };
    } catch (err) {
      checks.database = { ok: false, detail: (err as Error).message };
    }
    Object.assign(checks, (await ctx.health?.()) ?? {});
    const healthy = Object.values(checks).every((c) => c.ok);
    return { status: healthy ? 'healthy' : 'degraded', checks };
  };
  const isReady = (report: HealthReport) => (ctx.ready?.() ?? true) && report.checks.database?.ok === true;

  app.get('/health', { schema: { tags: ['health'], summary: 'Liveness: 200 while serving; status "degraded" when a check fails (details: GET /api/health)', security: [] } }, async () => {
    const report = await check();
    return { status: report.status, service: SERVICE };
  });

  app.get('/ready', { schema: { tags: ['health'], summary: 'Readiness: 503 while starting, draining or when the database fails', security: [] } }, async (_request, reply) => {
    const ready = isReady(await check());
    reply.code(ready ? 200 : 503);
    return { ready };
  });

  app.get('/api/health', { schema: { tags: ['health'], summary: 'Health with every check and what it found (needs a key, any role)' } }, async () => {
    const report = await check();
    return { status: report.status, service: SERVICE, ready: isReady(report), checks: report.checks };
  });
}
