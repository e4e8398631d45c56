// The OpenAPI document is complete: every route documents its success and error answers, and says when it needs a key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { singleKeyAuthenticator } from '../../src/api/auth.js';
import { createClaimWaiters } from '../../src/core/waiters.js';
import { createMetrics, type Metrics } from '../../src/metrics/registry.js';
import { SqlKeyStore } from '../../src/store/keys-store.js';
import { openTestQueue, sqliteBackend, type TestQueue } from '../helpers/stores.js';

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: { required?: string[]; properties?: Record<string, unknown> } }> }>; security?: unknown[] };
type Document = { paths: Record<string, Record<string, Operation>>; security?: unknown[]; components: { securitySchemes: Record<string, { type: string; scheme?: string }> } };

/** Routes that never succeed: the stateless MCP endpoint answers these with 405 only. */
const NO_SUCCESS = new Set(['GET /mcp', 'DELETE /mcp']);

async function openFullApp(metricsAuth: boolean) {
  const t = await openTestQueue(sqliteBackend);
  const metrics = createMetrics({ queue: t.queue, defaultMetrics: false });
  const waiters = createClaimWaiters(t.queue);
  const app = await buildApp({
    queue: t.queue,
    waiters,
    config: { LONG_POLL_MAX_SECONDS: 1, BODY_LIMIT_BYTES: 1024 * 1024, METRICS_AUTH: metricsAuth },
    authenticate: singleKeyAuthenticator('openapi-test-key-0123'),
    keys: new SqlKeyStore(t.db),
    metrics,
    summary: async () => {
      throw new Error('not called');
    },
  }, { checkReplies: true });
  await app.ready();
  return { t, app, metrics, waiters };
}

const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })));

describe('the OpenAPI document', () => {
  let full: { t: TestQueue; app: FastifyInstance; metrics: Metrics; waiters: ReturnType<typeof createClaimWaiters> };
  let doc: Document;
  beforeAll(async () => {
    full = await openFullApp(true);
    doc = (await full.app.openApiDocument()) as unknown as Document;
  });
  afterAll(async () => {
    full.waiters.releaseAll();
    full.metrics.close();
    await full.app.close();
    await full.t.cleanup();
  });

  it('lists the agent routes, the key admin, the event stream, /health and /metrics', () => {
    const routes = operations(doc).map((o) => o.route);
    for (const route of ['GET /health', 'GET /metrics', 'GET /api/events', 'POST /api/tasks', 'POST /api/tasks/claim-next', 'POST /api/tasks/{id}/complete', 'POST /api/keys', 'POST /mcp']) {
      expect(routes).toContain(route);
    }
  });

  it('gives every route a schema for its success answer, and the {"error","code"} shape for each 4xx', () => {
    const problems: string[] = [];
    for (const { route, op } of operations(doc)) {
      const statuses = Object.keys(op.responses ?? {});
      const successes = statuses.filter((s) => s.startsWith('2'));
      if (successes.length === 0 && !NO_SUCCESS.has(route)) problems.push(`${route}: no 2xx answer`);
      for (const status of successes) {
        const content = op.responses![status].content ?? {};
        if (!Object.values(content).some((c) => c.schema)) problems.push(`${route}: ${status} has no schema`);
      }
      for (const status of statuses.filter((s) => s.startsWith('4'))) {
        const schema = op.responses![status].content?.['application/json']?.schema;
        if (!schema?.required?.includes('error') || !schema.required.includes('code')) problems.push(`${route}: ${status} is not {"error","code"}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('answers 201 where a route creates', () => {
    expect(Object.keys(doc.paths['/api/tasks'].post.responses!)).toEqual(expect.arrayContaining(['201', '200', '422']));
    expect(Object.keys(doc.paths['/api/keys'].post.responses!)).toContain('201');
  });

  it('declares Bearer auth, and each route says it needs a key exactly when it answers 401 without one', async () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const mismatches: string[] = [];
    for (const { route, method, path, op } of operations(doc)) {
      const security = op.security ?? doc.security ?? [];
      const res = await full.app.inject({ method: method as 'GET', url: path.replace('{id}', '1'), headers: { 'content-type': 'application/json' }, payload: method === 'GET' ? undefined : '{}' });
      const refused = res.statusCode === 401;
      if (refused !== security.length > 0) mismatches.push(`${route}: ${res.statusCode} without a key, security ${JSON.stringify(security)}`);
      if (refused && !Object.keys(op.responses ?? {}).includes('401')) mismatches.push(`${route}: 401 not documented`);
    }
    expect(mismatches).toEqual([]);
  });

  it('lists /metrics without a key when METRICS_AUTH=false', async () => {
    const open = await openFullApp(false);
    try {
      const metricsOp = ((await open.app.openApiDocument()) as unknown as Document).paths['/metrics'].get;
      expect(metricsOp.security).toEqual([]);
      expect((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    } finally {
      open.metrics.close();
      await open.app.close();
      await open.t.cleanup();
    }
  });
});
