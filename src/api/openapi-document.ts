// The app's OpenAPI document: built by @fastify/swagger when first asked for (GET /docs/json, the docs
// generator, tests), not at start. @fastify/swagger and its YAML library are about a hundred modules
// that a server which is never asked for its document would otherwise load and keep in memory.
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';

/** The document as @fastify/swagger builds it (OpenAPI 3). */
export type OpenApiDocument = Exclude<ReturnType<FastifyInstance['swagger']>, string>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's OpenAPI document (built on the first call, once the app is ready; then the same object). */
    openApiDocument(): Promise<OpenApiDocument>;
  }
}

/**
 * Remembers every route the app registers from here on and decorates `app.openApiDocument()`. On its
 * first call the routes are registered again, with their schemas and no handlers that run, on a small
 * fastify instance with @fastify/swagger: the document is what the plugin would have built on the app.
 */
export function describeRoutes(app: FastifyInstance, options: SwaggerOptions): void {
  const routes: RouteOptions[] = [];
  // HEAD routes are fastify's own copies of GET routes; the inner instance makes them again.
  app.addHook('onRoute', (route) => {
    if (route.method !== 'HEAD') routes.push(route);
  });
  let document: Promise<OpenApiDocument> | undefined;
  app.decorate('openApiDocument', function openApiDocument() {
    // After ready: every route the app will have is registered by then.
    document ??= Promise.resolve(app.ready()).then(() => build(routes, options)).catch((err: unknown) => {
      document = undefined; // try again on the next call
      throw err;
    });
    return document;
  });
}

async function build(routes: RouteOptions[], options: SwaggerOptions): Promise<OpenApiDocument> {
  const [{ default: Fastify }, { default: swagger }] = await Promise.all([import('fastify'), import('@fastify/swagger')]);
  const inner = Fastify();
  // The schemas are only read by the plugin's transform here; nothing is validated or serialized.
  inner.setValidatorCompiler(() => () => true);
  inner.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await inner.register(swagger, options);
  const unused = () => {
    throw new Error('not served');
  };
  for (const route of routes) inner.route({ method: route.method, url: route.url, schema: route.schema, config: route.config, handler: unused });
  await inner.ready();
  try {
    return inner.swagger() as OpenApiDocument;
  } finally {
    await inner.close();
  }
}
