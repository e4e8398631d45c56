// An API app on a fresh store for inject() tests, with an injectable clock.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { singleKeyAuthenticator } from '../../src/api/auth.js';
import { createClaimWaiters, type ClaimWaiters } from '../../src/core/waiters.js';
import type { QueueConfig } from '../../src/core/queue.js';
import { openTestQueue, type TestBackend, type TestQueue, type TestClock } from './stores.js';

export const TEST_KEY = 'test-key-0123456789';

export type TestApp = TestQueue & {
  app: FastifyInstance;
  waiters: ClaimWaiters;
  /** inject() with the API key and JSON body. */
  call(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
};

export async function openTestApp(
  backend: TestBackend,
  options: { queue?: Partial<QueueConfig>; clock?: TestClock; longPollMaxSeconds?: number } = {},
): Promise<TestApp> {
  const t = await openTestQueue(backend, options.queue, { clock: options.clock });
  const waiters = createClaimWaiters(t.queue);
  const app = await buildApp(
    {
      queue: t.queue,
      waiters,
      config: { LONG_POLL_MAX_SECONDS: options.longPollMaxSeconds ?? 60, BODY_LIMIT_BYTES: 1024 * 1024, METRICS_AUTH: true },
      authenticate: singleKeyAuthenticator(TEST_KEY),
    },
    { checkReplies: true },
  );
  await app.ready();
  return {
    ...t,
    app,
    waiters,
    async call(method, url, body, headers = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { 'x-api-key': TEST_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let json: unknown = null;
      try {
        json = res.body ? JSON.parse(res.body) : null;
      } catch {
        json = res.body;
      }
      return { status: res.statusCode, json, headers: res.headers };
    },
    async close() {
      waiters.releaseAll();
      await app.close();
      await t.cleanup();
    },
  };
}
