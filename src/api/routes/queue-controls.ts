// Pause and resume the queue (or one label or project) and set concurrency limits; writes are admin-only (keys-policy).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseLimitScope, parsePauseScope, LIMIT_MAX } from '../../core/queue-controls.js';
import type { ConcurrencyLimit, Pause } from '../../core/queue-controls-types.js';
import type { AppContext } from '../context.js';
import { iso } from '../serialize.js';
import { BODY, INPUT, replies } from '../openapi.js';

const time = z.string().describe('ISO 8601, UTC');
const pauseSchema = z.object({ scope: z.string(), paused_by: z.string().nullable(), reason: z.string().nullable(), paused_at: time });
const limitSchema = z.object({ scope: z.string(), max: z.number().int(), held: z.number().int().describe('tasks of the scope held now'), set_by: z.string().nullable(), updated_at: time });

const scope = z.string().min(1).max(300);
const by = z.string().max(200).nullish();

// Strict: a misspelt field must not pause the whole queue instead of one label.
const pauseBody = z
  .object({ scope: scope.optional().describe('"queue" (the default), "label:<name>" or "project:<name>"'), reason: z.string().max(2000).nullish(), by })
  .strict()
  .nullish();
const resumeBody = z.object({ scope: scope.optional().describe('what was paused: "queue" (the default), "label:<name>" or "project:<name>"'), by }).strict().nullish();
const limitBody = z
  .object({
    scope: scope.describe('"label:<name>" or "project:<name>"'),
    max: z.number().int().min(0).max(LIMIT_MAX).describe('tasks of this scope held at once, at most (0 stops claims in it)'),
    by,
  })
  .strict();
const limitQuery = z.object({ scope: scope.describe('"label:<name>" or "project:<name>"') }).strict();

export const pauseJson = (pause: Pause) => ({ scope: pause.scope, paused_by: pause.pausedBy, reason: pause.reason, paused_at: iso(pause.pausedAt)! });
export const limitJson = (limit: ConcurrencyLimit) => ({ scope: limit.scope, max: limit.max, held: limit.held, set_by: limit.setBy, updated_at: iso(limit.updatedAt)! });

export function queueControlRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue } = ctx;
  const who = (given: string | null | undefined, principal: { name: string } | null) => given ?? principal?.name ?? null;

  r.get('/api/queue/pauses', { schema: { tags: ['queue'], summary: 'What is paused, by whom and why', response: replies({ 200: z.object({ pauses: z.array(pauseSchema) }) }) } }, async () => ({
    pauses: (await queue.pauses()).map(pauseJson),
  }));

  r.post(
    '/api/queue/pause',
    { schema: { tags: ['queue'], summary: 'Pause claims in the whole queue, one label or one project (admin); creates still work', body: pauseBody, response: replies({ 200: z.object({ pause: pauseSchema }) }, [...BODY, 422]) } },
    async (request) => {
      const pause = await queue.pause(parsePauseScope(request.body?.scope), who(request.body?.by, request.principal), request.body?.reason ?? null);
      return { pause: pauseJson(pause) };
    },
  );

  r.post(
    '/api/queue/resume',
    { schema: { tags: ['queue'], summary: 'Lift a pause (admin); waiting agents look again at once', body: resumeBody, response: replies({ 200: z.object({ resumed: pauseSchema }) }, [...BODY, 404, 422]) } },
    async (request) => {
      const pause = await queue.resume(parsePauseScope(request.body?.scope), who(request.body?.by, request.principal));
      return { resumed: pauseJson(pause) };
    },
  );

  r.get('/api/limits', { schema: { tags: ['queue'], summary: 'Concurrency limits with the tasks each scope holds now', response: replies({ 200: z.object({ limits: z.array(limitSchema) }) }) } }, async () => ({
    limits: (await queue.limits()).map(limitJson),
  }));

  r.put(
    '/api/limits',
    { schema: { tags: ['queue'], summary: 'Set a concurrency limit on a label or project (admin)', body: limitBody, response: replies({ 200: z.object({ limit: limitSchema }) }, [...BODY, 422]) } },
    async (request) => {
      const limit = await queue.setLimit(parseLimitScope(request.body.scope), request.body.max, who(request.body.by, request.principal));
      return { limit: limitJson(limit) };
    },
  );

  r.delete(
    '/api/limits',
    { schema: { tags: ['queue'], summary: 'Remove a concurrency limit (admin)', querystring: limitQuery, response: replies({ 200: z.object({ removed: z.string() }) }, [...INPUT, 404, 422]) } },
    async (request) => {
      await queue.removeLimit(parseLimitScope(request.query.scope), request.principal?.name ?? null);
      return { removed: request.query.scope };
    },
  );
}
