// The web dashboard's routes: the page and its files at `/`, and the live event stream it reads.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../api/context.js';
import { loadAssets } from './assets.js';
import { eventStreamRoutes, type EventStreamOptions } from './event-stream.js';
import { staticRoutes } from './static-routes.js';

export type DashboardOptions = { events?: EventStreamOptions; assetsDir?: string };

export function dashboardRoutes(app: FastifyInstance, ctx: AppContext, options: DashboardOptions = {}): void {
  staticRoutes(app, loadAssets(options.assetsDir));
  eventStreamRoutes(app, ctx, options.events);
}
