// Queue statistics, the agents seen, and who the calling key is (the dashboard shows admin controls to admin keys only).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KEY_ROLES } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { instanceJson, statsJson } from '../serialize.js';
import { replies } from '../openapi.js';
import { instancesSchema, statsJsonSchema } from '../responses.js';

const meSchema = z.object({
  name: z.string().describe("the key's name (`api` for the admin key)"),
  role: z.enum(KEY_ROLES).describe('what the key may do: admin writes everything, agent its own work, reader only reads'),
  instance_id: z.string().nullable().describe('for an agent key: the agent identity it acts as'),
});

export function statsRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/stats', { schema: { tags: ['queue'], summary: 'Counts per state plus instances', response: replies({ 200: statsJsonSchema }) } }, async () => {
    return statsJson(await ctx.queue.stats(), ctx.queue.now());
  });
  r.get('/api/instances', { schema: { tags: ['queue'], summary: 'Agents seen, what they hold and when they were last seen', response: replies({ 200: instancesSchema }) } }, async () => {
    return { instances: (await ctx.queue.instances()).map(instanceJson) };
  });
  r.get('/api/me', { schema: { tags: ['keys'], summary: 'The calling key: its name and role', response: replies({ 200: meSchema }) } }, async (request) => {
    // Every /api route needs a key, so a principal is always there; the fallback only satisfies the type.
    const p = request.principal;
    return { name: p?.name ?? 'api', role: p?.role ?? 'admin', instance_id: p?.instanceId ?? null };
  });
}
