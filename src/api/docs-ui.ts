// GET /docs…: the Swagger UI over the app's OpenAPI document, loaded by the first request for it, not at start.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../errors.js';

/** Headers that describe the inner reply's own connection, not its content. */
const HOP_HEADERS = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * The UI's plugin can only be registered before the app is ready, so it lives in a small fastify instance
 * of its own, built on first use with the app's finished document, and requests under the prefix are
 * passed to it in process.
 */
export function docsUiRoutes(app: FastifyInstance, prefix = '/docs'): void {
  let ui: Promise<FastifyInstance> | undefined;
  const load = async (): Promise<FastifyInstance> => {
    const [{ default: Fastify }, { default: swagger }, { default: swaggerUi }] = await Promise.all([
      import('fastify'),
      import('@fastify/swagger'),
      import('@fastify/swagger-ui'),
    ]);
    const inner = Fastify();
    await inner.register(swagger, { mode: 'static', specification: { document: (await app.openApiDocument()) as never } });
    await inner.register(swaggerUi, { routePrefix: prefix });
    await inner.ready();
    return inner;
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    ui ??= load().catch((err) => {
      ui = undefined; // try again on the next request
      throw err;
    });
    const res = await (await ui).inject({ method: request.method as 'GET', url: request.url, headers: request.headers });
    // The inner instance answers fastify's own 404 shape; the app answers every 404 as {"error","code"}.
    if (res.statusCode === 404) throw new NotFoundError(`No route GET ${request.url.split('?')[0]}`);
    for (const [name, value] of Object.entries(res.headers)) {
      if (!HOP_HEADERS.has(name) && value !== undefined) reply.header(name, value);
    }
    return reply.code(res.statusCode).send(res.rawPayload);
  };
  app.get(prefix, { schema: { hide: true } }, handler);
  app.get(`${prefix}/*`, { schema: { hide: true } }, handler);
}
