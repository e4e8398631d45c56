// HTTP side of the metrics: request durations by route pattern, and GET /metrics in Prometheus text format.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './registry.js';
import { NEEDS_KEY, NO_KEY, replies, textReply } from '../api/openapi.js';

/** Times every request; unmatched URLs share one label so scanners cannot grow the series without bound. */
export function installHttpMetrics(app: FastifyInstance, metrics: Pick<Metrics, 'observeHttp'>): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/** GET /metrics; the API key check (unless METRICS_AUTH=false) is the app's, like any protected path. */
export function metricsRoute(app: FastifyInstance, metrics: Pick<Metrics, 'registry'>, options: { needsKey: boolean }): void {
  const schema = {
    tags: ['metrics'],
    summary: 'Prometheus metrics (text exposition format); needs a key unless METRICS_AUTH=false',
    security: options.needsKey ? NEEDS_KEY : NO_KEY,
    response: replies({ 200: textReply('text/plain', 'Prometheus text format 0.0.4') }, [], { keyed: options.needsKey }),
  };
  app.get('/metrics', { schema }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
