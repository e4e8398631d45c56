// Queue statistics and the agents seen.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { instanceJson, statsJson } from '../serialize.js';
import { replies } from '../openapi.js';
import { instancesSchema, statsJsonSchema } from '../responses.js';

export function statsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/stats', { schema: { tags: ['queue'], summary: 'Counts per state plus instances', response: replies({ 200: statsJsonSchema }) } }, async () => {
    return statsJson(await ctx.queue.stats(), ctx.queue.now());
  });
  app.get('/api/instances', { schema: { tags: ['queue'], summary: 'Agents seen, what they hold and when they were last seen', response: replies({ 200: instancesSchema }) } }, async () => {
    return { instances: (await ctx.queue.instances()).map(instanceJson) };
  });
}
