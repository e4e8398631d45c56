// Serves the dashboard page at `/` and its files under `/assets/`, with a strict Content-Security-Policy.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../errors.js';
import type { Asset } from './assets.js';

/**
 * Scripts and styles only from this origin and no inline code: even if some task text slipped
 * into the page as markup, the browser would not run it.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    // Revalidate every time: a new release shows at once, an unchanged file costs a 304.
    .header('cache-control', 'no-cache')
    .header('etag', asset.etag);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.contentType).send(asset.body);
}

export function staticRoutes(app: FastifyInstance, assets: Map<string, Asset>): void {
  const index = assets.get('index.html');
  if (!index) throw new Error('dashboard assets have no index.html');
  const hidden = { schema: { hide: true } };

  app.get('/', hidden, async (request, reply) => send(request, reply, index));
  app.get('/assets/*', hidden, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const asset = name === 'index.html' ? undefined : assets.get(name);
    if (!asset) throw new NotFoundError(`No dashboard file ${name}`);
    return send(request, reply, asset);
  });
}
