// An API app with what `serve` adds for observability (metrics, summary, loop health), for inject() tests.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { singleKeyAuthenticator } from '../../src/api/auth.js';
import { createClaimWaiters } from '../../src/core/waiters.js';
import { createLoopRunner, type LoopRunner } from '../../src/jobs/loop-runner.js';
import { buildDailySummary } from '../../src/jobs/summary.js';
import { silentLogger } from '../../src/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics/registry.js';
import { openTestQueue, type TestBackend, type TestQueue } from '../helpers/stores.js';
import { fakeTimers } from '../jobs/fake-timers.js';

export const KEY = 'observed-test-key-123456';

export type ObservedApp = TestQueue & {
  app: FastifyInstance;
  metrics: Metrics;
  runner: LoopRunner;
  get(url: string, headers?: Record<string, string>): Promise<{ status: number; body: string; json: any }>;
  send(method: 'POST' | 'PATCH' | 'PUT', url: string, body?: unknown): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
};

export async function openObservedApp(backend: TestBackend, options: { metricsAuth?: boolean; retentionDays?: number; outboxBacklog?: () => Promise<number | null> } = {}): Promise<ObservedApp> {
  const t = await openTestQueue(backend, { wipLimit: 0 });
  const waiters = createClaimWaiters(t.queue);
  const metrics = createMetrics({ queue: t.queue, defaultMetrics: false, outboxBacklog: options.outboxBacklog });
  const runner = createLoopRunner({ log: silentLogger, timers: fakeTimers(t.clock), onLoopStart: metrics.observeLoopStart, onRunEnd: metrics.observeLoopRun });
  const app = await buildApp({
    queue: t.queue,
    waiters,
    config: { LONG_POLL_MAX_SECONDS: 5, BODY_LIMIT_BYTES: 1024 * 1024, METRICS_AUTH: options.metricsAuth ?? true },
    authenticate: singleKeyAuthenticator(KEY),
    health: () => runner.healthChecks(),
    metrics,
    summary: () => buildDailySummary(t.queue, t.queue.now(), { retentionDays: options.retentionDays }),
  }, { checkReplies: true });
  await app.ready();
  return {
    ...t,
    app,
    metrics,
    runner,
    async get(url, headers = { 'x-api-key': KEY }) {
      const res = await app.inject({ method: 'GET', url, headers });
      let json: unknown = null;
      try {
        json = JSON.parse(res.body);
      } catch {
        json = null;
      }
      return { status: res.statusCode, body: res.body, json };
    },
    async send(method, url, body) {
      const res = await app.inject({
        method,
        url,
        headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
        payload: JSON.stringify(body ?? {}),
      });
      return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : null };
    },
    async close() {
      waiters.releaseAll();
      metrics.close();
      await app.close();
      await t.cleanup();
    },
  };
}
