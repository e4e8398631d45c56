// HTTP side of the metrics: request durations by route pattern, and GET /metrics in Prometheus text format.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './registry.js';

/** Times every request; unmatched URLs share one label so scanners cannot grow the series without bound. */
export function installHttpMetrics(app: FastifyInstance, metrics: Pick<Metrics, 'observeHttp'>): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/** GET /metrics; the API key check (unless METRICS_AUTH=false) is the app's, like any protected path. */
export function metricsRoute(app: FastifyInstance, metrics: Pick<Metrics, 'registry'>): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
