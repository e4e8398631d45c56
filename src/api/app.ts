// Builds the fastify app (routes, validation, errors, OpenAPI) without listening; tests use inject().
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../logger.js';
import type { AppContext } from './context.js';
import { answerFrameworkError, installErrorHandler } from './error-handler.js';
import { docsUiRoutes } from './docs-ui.js';
import { describeRoutes } from './openapi-document.js';
import { closeRefusedConnections, requestDeadlines } from './connection-guard.js';
import { createAccessControl } from './keys-access.js';
import { createHeldRequests } from './held-requests.js';
import { keysRoutes } from './keys-routes.js';
import { healthRoutes } from './routes/health.js';
import { originalTaskRoutes } from './routes/tasks-original.js';
import { leaseRoutes } from './routes/tasks-lease.js';
import { taskAdminRoutes } from './routes/tasks-admin.js';
import { taskEditRoutes } from './routes/tasks-edit.js';
import { taskOutputRoutes } from './routes/task-output.js';
import { statsRoutes } from './routes/stats.js';
import { bulkRoutes } from './routes/bulk.js';
import { mcpRoutes } from '../mcp/http-route.js';
import { dashboardRoutes } from '../web/routes.js';
import { summaryRoutes } from './routes/summary.js';
import { queueControlRoutes } from './routes/queue-controls.js';
import { scheduleRoutes } from './routes/schedules.js';
import { webhookRoutes } from './routes/webhooks.js';
import { installHttpMetrics, metricsRoute } from '../metrics/http.js';
import { NEEDS_KEY, SECURITY_SCHEMES } from './openapi.js';
import { replySerializer } from './reply-serializer.js';

export type BuildAppOptions = {
  logger?: Logger;
  docs?: boolean;
  /** How often the keys of open event streams and long-polls are looked up again (revoked elsewhere). */
  keyRecheckMs?: number;
  /** Check every reply against its route's response schema (tests; see reply-serializer.ts). */
  checkReplies?: boolean;
};

/** Paths under these prefixes need a valid API key. */
export const PROTECTED_PREFIXES = ['/api/', '/mcp'];

/** Defaults of the settings tests may leave out of AppContext.config. */
const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

export async function buildApp(ctx: AppContext, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { requestTimeout, ...http } = requestDeadlines((ctx.config.REQUEST_TIMEOUT_SECONDS ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000);
  const [validate, serialize] = [validatorCompiler, replySerializer({ check: options.checkReplies === true })];
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.config.BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: 200 },
    // The router's own refusals (over-long id, bad %-escape) in our `{"error","code"}` shape.
    frameworkErrors: answerFrameworkError,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    requestTimeout,
    http,
    // request.ip (the wrong-key limiter and the stream caps count per address) honours
    // X-Forwarded-For only from the proxies TRUST_PROXY names.
    trustProxy: ctx.config.TRUST_PROXY ?? false,
    // Bodies are checked by their zod schemas and replies written by JSON.stringify: given these,
    // fastify never loads its own compilers (ajv, fast-json-stringify), which keeps them out of
    // memory. (Its types describe ajv's factories, hence the cast.)
    schemaController: { compilersFactory: { buildValidator: () => validate, buildSerializer: () => serialize } as never },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validate);
  app.setSerializerCompiler(serialize);
  installErrorHandler(app);
  closeRefusedConnections(app);
  if (ctx.metrics) installHttpMetrics(app, ctx.metrics);

  // An empty body with Content-Type: application/json means "no fields", as curl -X POST sends.
  // Every body is JSON: anything else is refused with 415 rather than half-parsed. `__proto__` and
  // `constructor.prototype` keys are refused, as fastify's own parser does (secure-json-parse).
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      done(Object.assign(new SyntaxError((err as Error).message), { statusCode: 400 }) as never, undefined);
    }
  });

  app.decorateRequest('principal', null);
  // Key check, wrong-key rate limit and the role table (keys-policy.ts), in one place for every route.
  // GET /metrics needs a key too unless METRICS_AUTH=false (a scraper inside a private network).
  const access = createAccessControl(ctx, ctx.config.METRICS_AUTH === false ? PROTECTED_PREFIXES : [...PROTECTED_PREFIXES, '/metrics']);
  app.addHook('onRequest', access.onRequest);
  app.addHook('preValidation', access.preValidation);

  if (options.docs !== false) {
    describeRoutes(app, {
      openapi: {
        info: { title: 'Athena', description: 'Task queue for AI coding agents', version: '1.0.0' },
        components: { securitySchemes: SECURITY_SCHEMES },
        // Every route needs a key unless it says otherwise (/health, /ready, /metrics with METRICS_AUTH=false).
        security: NEEDS_KEY,
      },
      transform: jsonSchemaTransform,
    });
    docsUiRoutes(app, '/docs');
  }

  // Event streams and long-poll claims, by key: revoking a key ends them.
  const held = createHeldRequests({
    keys: ctx.keys,
    recheckMs: options.keyRecheckMs,
    onError: (err) => app.log.warn({ err }, 'could not re-check the keys of open streams'),
  });
  app.addHook('onClose', async () => held.close());

  await app.register(async (scope) => {
    healthRoutes(scope, ctx);
    originalTaskRoutes(scope, ctx);
    leaseRoutes(scope, ctx, held);
    taskAdminRoutes(scope, ctx);
    taskEditRoutes(scope, ctx);
    taskOutputRoutes(scope, ctx);
    statsRoutes(scope, ctx);
    bulkRoutes(scope, ctx);
    dashboardRoutes(scope, ctx, { events: { held } });
    summaryRoutes(scope, ctx);
    queueControlRoutes(scope, ctx);
    scheduleRoutes(scope, ctx);
    if (ctx.metrics) metricsRoute(scope, ctx.metrics, { needsKey: ctx.config.METRICS_AUTH !== false });
    if (ctx.keys) keysRoutes(scope, ctx.keys, ctx.queue.now, held);
    if (ctx.webhooks) webhookRoutes(scope, ctx.webhooks);
  });
  // On the root instance: its tools call the REST routes through app.inject.
  mcpRoutes(app);
  return app;
}
