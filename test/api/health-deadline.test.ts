// /health, /ready and /api/health answer within HEALTH_TIMEOUT_SECONDS even when the database hangs
// (accepts connections and statements but never answers), so monitors hear "degraded" in time.
import { afterEach, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { singleKeyAuthenticator } from '../../src/api/auth.js';
import { createEventBus } from '../../src/core/events.js';
import { createQueue } from '../../src/core/queue.js';
import { createClaimWaiters } from '../../src/core/waiters.js';
import { openPostgres } from '../../src/store/open.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { waitFor } from '../helpers/replicas.js';
import { createTestSchema, defaultQueueConfig } from '../helpers/stores.js';
import { startTcpProxy, throughProxy } from '../helpers/tcp-proxy.js';

const KEY = 'test-key-0123456789';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

it('health answers within its deadline while PostgreSQL hangs, and recovers when it answers again', async () => {
  const schema = await createTestSchema();
  cleanups.push(() => schema.drop());
  const target = new URL(schema.url);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  cleanups.push(() => proxy.close());
  // No statement timeout: only the health deadline bounds the wait.
  const db = await openPostgres(throughProxy(schema.url, proxy.port), { poolSize: 2, startupRetryMs: 0 });
  cleanups.push(() => db.close());
  await db.migrate();
  const queue = createQueue({ store: new SqlStore(db), bus: createEventBus(), config: defaultQueueConfig });
  const app = await buildApp({
    queue,
    waiters: createClaimWaiters(queue),
    config: { LONG_POLL_MAX_SECONDS: 60, BODY_LIMIT_BYTES: 1024 * 1024, METRICS_AUTH: true, HEALTH_TIMEOUT_SECONDS: 0.5 },
    authenticate: singleKeyAuthenticator(KEY),
  });
  cleanups.push(() => app.close());
  const get = async (url: string) => {
    const started = Date.now();
    const res = await app.inject({ method: 'GET', url, headers: { 'x-api-key': KEY } });
    return { ms: Date.now() - started, status: res.statusCode, json: res.json() };
  };
  expect((await get('/health')).json.status).toBe('healthy');

  proxy.hang();
  const health = await get('/health');
  expect(health.status).toBe(200);
  expect(health.json).toEqual({ status: 'degraded', service: 'athena-bot' });
  // The deadline is 0.5 s; without it the ping would wait for the pool's 15 s connect timeout or forever.
  expect(health.ms).toBeLessThan(3_000);
  const ready = await get('/ready');
  expect(ready.status).toBe(503);
  expect(ready.ms).toBeLessThan(3_000);
  const detail = await get('/api/health');
  expect(detail.json.checks.database).toEqual({ ok: false, detail: 'no answer within 0.5 s' });

  proxy.restore();
  await waitFor(async () => (await get('/health')).json.status === 'healthy', 20_000, 'health to recover');
});
