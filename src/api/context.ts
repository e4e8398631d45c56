// What the HTTP routes need from the rest of the service.
import type { Config } from '../config.js';
import type { Queue } from '../core/queue.js';
import type { ClaimWaiters } from '../core/waiters.js';
import type { Authenticator, Principal } from './auth.js';
import type { KeyStore } from '../core/ports.js';
import type { Metrics } from '../metrics/registry.js';
import type { DailySummary } from '../jobs/summary.js';
import type { WebhookAdmin } from '../core/webhooks.js';

export type HealthReport = { status: 'healthy' | 'degraded'; checks: Record<string, { ok: boolean; detail?: string }> };

export type AppContext = {
  queue: Queue;
  waiters: ClaimWaiters;
  config: Pick<Config, 'LONG_POLL_MAX_SECONDS' | 'BODY_LIMIT_BYTES' | 'METRICS_AUTH'> &
    Partial<
      Pick<
        Config,
        | 'REQUEST_TIMEOUT_SECONDS'
        | 'TRUST_PROXY'
        | 'EVENT_STREAMS_PER_KEY'
        | 'EVENT_STREAMS_PER_ADDRESS'
        | 'EVENT_STREAMS_MAX'
        | 'EVENT_STREAM_BUFFER_BYTES'
        | 'EVENT_STREAM_STALL_SECONDS'
        | 'HEALTH_TIMEOUT_SECONDS'
      >
    >;
  authenticate: Authenticator;
  /** Per-agent API keys; when present, admins manage them at /api/keys. */
  keys?: KeyStore;
  /** Extra health checks (loops, Discord) contributed by the server. */
  health?: () => Promise<HealthReport['checks']> | HealthReport['checks'];
  /** Whether the server is ready to take traffic (false while starting or draining). */
  ready?: () => boolean;
  /** Prometheus metrics: when present, every request is timed and GET /metrics serves them. */
  metrics?: Metrics;
  /** The daily summary of the last 24 h, for GET /api/summary. */
  summary?: () => Promise<DailySummary>;
  /** Signed webhooks; when present, admins manage them at /api/webhooks. */
  webhooks?: WebhookAdmin;
};

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
