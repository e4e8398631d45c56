// Connections cannot be held for free: bodies must arrive within a deadline, and a request refused
// before its body was read (401, 403, 413, 415, 429) closes its connection instead of reading on.
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Refusals that never need the body: reading it would only let the sender hold the connection. */
const REFUSED_UNREAD = new Set([401, 403, 413, 415, 429]);

/** Whether the request announced a body that has not fully arrived yet. */
function bodyPending(request: FastifyRequest): boolean {
  const raw = request.raw;
  if (raw.complete) return false;
  const length = Number(raw.headers['content-length'] ?? 0);
  return raw.headers['transfer-encoding'] !== undefined || length > 0;
}

/**
 * Node would keep reading (and discarding) an unread body after the answer, for as long as the
 * client trickles it. With `Connection: close` Node ends the socket once the answer is written;
 * the socket is also destroyed then, so a client that never reads cannot keep it half-open.
 */
export function closeRefusedConnections(app: FastifyInstance): void {
  const closing = new WeakSet<FastifyRequest>();
  app.addHook('onSend', async (request, reply) => {
    if (!REFUSED_UNREAD.has(reply.statusCode) || !bodyPending(request)) return;
    // A refusal can be sent while the request's first packet is still being parsed: let the parser
    // finish it, so a small body sent along with the headers keeps its connection alive.
    await new Promise((resolve) => setImmediate(resolve));
    if (!bodyPending(request)) return;
    closing.add(request);
    reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request) => {
    if (closing.has(request)) request.raw.socket?.destroy();
  });
}

/** Node's options for a server whose requests must arrive whole within `requestTimeoutMs`. */
export function requestDeadlines(requestTimeoutMs: number) {
  return {
    requestTimeout: requestTimeoutMs,
    // Node checks the deadline on this interval (30 s by default, which could double the deadline).
    connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(requestTimeoutMs / 4))),
    // Headers count towards the request's deadline; Node wants them no later than the whole request.
    headersTimeout: Math.min(60_000, requestTimeoutMs),
  };
}
