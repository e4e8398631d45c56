// A database outage while serving: requests get 503 UNAVAILABLE (no stack trace), /ready says not
// ready, and everything recovers by itself when the database is back, including the event feed.
import { afterEach, expect, it } from 'vitest';
import { startEventFeed } from '../../src/cluster/event-feed.js';
import { createReplicaBus } from '../../src/cluster/replica-bus.js';
import { createEventBus } from '../../src/core/events.js';
import { createQueue } from '../../src/core/queue.js';
import { silentLogger } from '../../src/logger.js';
import { openPostgres } from '../../src/store/open.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/replicas.js';
import { createTestSchema, defaultQueueConfig, type TestBackend } from '../helpers/stores.js';
import { startTcpProxy, throughProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('503 while PostgreSQL is unreachable, then recovery without a restart; the feed catches up', async () => {
  const schema = await createTestSchema();
  cleanups.push(() => schema.drop());
  const proxy: TcpProxy = await startTcpProxy('127.0.0.1', Number(new URL(schema.url).port || 5432));
  cleanups.push(() => proxy.close());

  // Replica A reaches the database through the proxy; replica B directly.
  const viaProxy: TestBackend = {
    name: 'postgres',
    async open() {
      const db = await openPostgres(throughProxy(schema.url, proxy.port), { poolSize: 3, startupRetryMs: 0, connectTimeoutMs: 2000 });
      await db.migrate();
      return { db, store: new SqlStore(db), cleanup: () => db.close() };
    },
  };
  const a: TestApp = await openTestApp(viaProxy, { clock: { now: 0, advance() {}, fn: Date.now } });
  cleanups.push(() => a.close());
  const stopFeed = new AbortController();
  const feed = startEventFeed({ db: a.db, store: a.store, bus: createReplicaBus(a.bus), signal: stopFeed.signal, log: silentLogger, pollMs: 500 });
  cleanups.push(async () => {
    stopFeed.abort();
    await feed.stopped;
  });
  const seenOnA: string[] = [];
  a.bus.subscribe((e) => seenOnA.push(`${e.type}:${e.task?.description ?? ''}`));

  const bDb = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
  cleanups.push(() => bDb.close());
  const b = createQueue({ store: new SqlStore(bDb), bus: createEventBus(), config: defaultQueueConfig });

  expect((await a.call('POST', '/api/tasks', { description: 'before' })).status).toBe(201);
  await waitFor(() => feed.listening(), 5000, 'LISTEN');

  proxy.cut();
  const during = await a.call('POST', '/api/tasks', { description: 'during' });
  expect(during.status).toBe(503);
  expect(during.json).toMatchObject({ code: 'UNAVAILABLE' });
  expect(during.json.error).toMatch(/^database unavailable: /);
  expect(JSON.stringify(during.json)).not.toMatch(/at .*\.(ts|js):\d+/);
  expect((await a.call('GET', '/api/tasks')).status).toBe(503);
  expect((await a.call('GET', '/ready')).status).toBe(503);
  const health = await a.call('GET', '/api/health');
  expect(health.status).toBe(200);
  expect(health.json.status).toBe('degraded');

  await b.create({ description: 'written on B during the outage' });

  proxy.restore();
  await waitFor(async () => (await a.call('POST', '/api/tasks', { description: 'after' })).status === 201, 5000, 'recovery');
  expect((await a.call('GET', '/ready')).status).toBe(200);
  await waitFor(() => seenOnA.includes('created:written on B during the outage'), 5000, 'the feed to catch up');
  const list = await a.call('GET', '/api/tasks?limit=10');
  expect(list.json.tasks.map((t: { description: string }) => t.description).sort()).toEqual(['after', 'before', 'written on B during the outage']);
});
