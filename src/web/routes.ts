// The web dashboard's routes: the page and its files at `/`, and the live event stream it reads.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../api/context.js';
import { loadAssets } from './assets.js';
import { eventStreamRoutes, type EventStreamOptions } from './event-stream.js';
import { staticRoutes } from './static-routes.js';

export type DashboardOptions = { events?: EventStreamOptions; assetsDir?: string };

export function dashboardRoutes(app: FastifyInstance, ctx: AppContext, options: DashboardOptions = {}): void {
  staticRoutes(app, loadAssets(options.assetsDir));
  const c = ctx.config;
  eventStreamRoutes(app, ctx, {
    perKey: c.EVENT_STREAMS_PER_KEY,
    perAddress: c.EVENT_STREAMS_PER_ADDRESS,
    max: c.EVENT_STREAMS_MAX,
    maxQueuedBytes: c.EVENT_STREAM_BUFFER_BYTES,
    stallMs: c.EVENT_STREAM_STALL_SECONDS === undefined ? undefined : c.EVENT_STREAM_STALL_SECONDS * 1000,
    ...options.events,
  });
}
