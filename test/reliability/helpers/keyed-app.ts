// An in-process app (inject, no port) with per-agent keys on a fresh store, for the auth and fuzz tests.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/api/app.js';
import type { AppContext } from '../../../src/api/context.js';
import { keyAuthenticator } from '../../../src/api/auth.js';
import { issueKey } from '../../../src/api/keys-secrets.js';
import { createClaimWaiters, type ClaimWaiters } from '../../../src/core/waiters.js';
import type { QueueConfig } from '../../../src/core/queue.js';
import type { Logger } from '../../../src/logger.js';
import { SqlKeyStore } from '../../../src/store/keys-store.js';
import { SqlWebhookStore } from '../../../src/store/sql-webhooks.js';
import { createWebhookAdmin } from '../../../src/core/webhooks.js';
import type { KeyRole } from '../../../src/core/types.js';
import { openTestQueue, type TestBackend, type TestClock, type TestQueue } from '../../helpers/stores.js';

export const ADMIN_KEY = 'reliability-admin-key-0123456789';

export type Reply = { status: number; json: any; text: string; headers: Record<string, unknown> };

export type KeyedApp = TestQueue & {
  app: FastifyInstance;
  keys: SqlKeyStore;
  waiters: ClaimWaiters;
  /** inject() as `key` (null: no key header) with a JSON body; `from` sets the client address. */
  call(key: string | null, method: string, url: string, body?: unknown, options?: { headers?: Record<string, string>; from?: string }): Promise<Reply>;
  /** Creates a per-agent key straight in the store; returns the key. */
  issue(role: KeyRole, name: string, instanceId?: string | null): Promise<string>;
  close(): Promise<void>;
};

export async function openKeyedApp(
  backend: TestBackend,
  options: {
    queue?: Partial<QueueConfig>;
    clock?: TestClock;
    longPollMaxSeconds?: number;
    bodyLimitBytes?: number;
    logger?: Logger;
    /** More settings of the app (timeouts, stream caps, TRUST_PROXY). */
    config?: Partial<AppContext['config']>;
    keyRecheckMs?: number;
    /** Serve /api/webhooks, with this allowlist. */
    webhooks?: { allowlist: string[] };
  } = {},
): Promise<KeyedApp> {
  const t = await openTestQueue(backend, options.queue, { clock: options.clock });
  const keys = new SqlKeyStore(t.db);
  const waiters = createClaimWaiters(t.queue);
  const app = await buildApp(
    {
      queue: t.queue,
      waiters,
      config: { LONG_POLL_MAX_SECONDS: options.longPollMaxSeconds ?? 60, BODY_LIMIT_BYTES: options.bodyLimitBytes ?? 1024 * 1024, METRICS_AUTH: true, ...options.config },
      authenticate: keyAuthenticator({ adminKey: ADMIN_KEY, keys, now: t.queue.now }),
      keys,
      ...(options.webhooks ? { webhooks: createWebhookAdmin(new SqlWebhookStore(t.db), { allowlist: options.webhooks.allowlist, now: t.queue.now }) } : {}),
    },
    { logger: options.logger, keyRecheckMs: options.keyRecheckMs, checkReplies: true },
  );
  await app.ready();
  return {
    ...t,
    app,
    keys,
    waiters,
    async call(key, method, url, body, opts = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        remoteAddress: opts.from,
        headers: {
          ...(key !== null ? { 'x-api-key': key } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let json: unknown = null;
      try {
        json = res.body ? JSON.parse(res.body) : null;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json, text: res.body, headers: res.headers };
    },
    async issue(role, name, instanceId = null) {
      return (await issueKey(keys, { name, role, instanceId }, t.queue.now())).key;
    },
    async close() {
      waiters.releaseAll();
      await app.close();
      await t.cleanup();
    },
  };
}
