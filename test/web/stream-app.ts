// The event stream route alone on a real port, with test-sized options, for the event stream tests.
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppContext } from '../../src/api/context.js';
import { installErrorHandler } from '../../src/api/error-handler.js';
import { eventStreamRoutes, type EventStreamOptions } from '../../src/web/event-stream.js';
import { openTestQueue, type TestBackend, type TestQueue } from '../helpers/stores.js';

export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

export type StreamOnly = TestQueue & {
  url: string;
  app: FastifyInstance;
  /** Open connections on the server's side (a stream the server cut is gone from here at once). */
  connections(): Promise<number>;
  close(): Promise<void>;
};

/** Only GET /api/events (no key check), on a fresh store. */
export async function streamOnly(backend: TestBackend, options: EventStreamOptions): Promise<StreamOnly> {
  const t = await openTestQueue(backend);
  const app = Fastify() as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  eventStreamRoutes(app, { queue: t.queue } as AppContext, options);
  const url = await listen(app);
  return Object.assign(t, {
    url,
    app,
    connections: () => new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    async close() {
      await app.close();
      await t.cleanup();
    },
  });
}
