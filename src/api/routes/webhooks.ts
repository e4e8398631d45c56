// Signed webhooks over REST, admin only (reads too: they show where events go; see keys-policy.ts):
// add (the secret is shown once), list, remove, deliveries with every attempt, redeliver.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LIMITS } from '../../core/limits.js';
import { WEBHOOK_EVENTS, WEBHOOK_SUBSCRIPTIONS, WEBHOOK_URL_MAX, type DeliveryAttempt, type Webhook, type WebhookAdmin, type WebhookDelivery } from '../../core/webhooks.js';
import { iso } from '../serialize.js';
import { BODY, INPUT, replies } from '../openapi.js';

const time = z.string().describe('ISO 8601, UTC');
const maybeTime = z.string().nullable().describe('ISO 8601, UTC');

const webhookAnswer = z.object({
  id: z.number().int(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_SUBSCRIPTIONS)),
  label: z.string().nullable().describe('only tasks with this label'),
  project: z.string().nullable().describe('only tasks of this project'),
  enabled: z.boolean().describe('false once it failed for the whole retry window (WEBHOOK_RETRY_HOURS)'),
  disabled_reason: z.string().nullable(),
  failing_since: maybeTime.describe('first failed attempt since the last success'),
  created_by: z.string().nullable(),
  created_at: time,
});

const attemptAnswer = z.object({
  at: time,
  duration_ms: z.number().int(),
  status_code: z.number().int().nullable().describe('null: no answer (network error, timeout)'),
  error: z.string().nullable(),
  response: z.string().nullable().describe("the first 1 KiB of the receiver's answer"),
});

const deliveryAnswer = z.object({
  id: z.number().int().describe('also X-Athena-Delivery and the body\'s `id`: the same on every attempt, for deduplication'),
  webhook_id: z.number().int(),
  event: z.enum(WEBHOOK_EVENTS),
  task_id: z.number().int(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  next_attempt_at: maybeTime.describe('pending only'),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  last_response: z.string().nullable(),
  created_at: time,
  delivered_at: maybeTime,
});

export const webhookJson = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  label: w.label,
  project: w.project,
  enabled: w.enabled,
  disabled_reason: w.disabledReason,
  failing_since: iso(w.failingSince),
  created_by: w.createdBy,
  created_at: iso(w.createdAt)!,
});

const attemptJson = (a: DeliveryAttempt) => ({ at: iso(a.at)!, duration_ms: a.durationMs, status_code: a.statusCode, error: a.error, response: a.response });

const deliveryJson = (d: WebhookDelivery) => ({
  id: d.id,
  webhook_id: d.webhookId,
  event: d.event,
  task_id: d.taskId,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
  last_status: d.lastStatus,
  last_error: d.lastError,
  last_response: d.lastResponse,
  created_at: iso(d.createdAt)!,
  delivered_at: iso(d.deliveredAt),
});

const createBody = z
  .object({
    url: z.string().trim().min(1).max(WEBHOOK_URL_MAX).describe('http or https; restricted by WEBHOOK_ALLOWLIST when set'),
    events: z.array(z.enum(WEBHOOK_SUBSCRIPTIONS)).min(1).max(WEBHOOK_SUBSCRIPTIONS.length).describe('the events to send, or ["*"] for all'),
    label: z.string().trim().min(1).max(LIMITS.labelMax).nullish().describe('only tasks with this label'),
    project: z.string().trim().min(1).max(LIMITS.projectMax).nullish().describe('only tasks of this project'),
  })
  .strict();

const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const webhookParams = z.object({ id: idParam.describe('webhook id') }).strict();
const deliveryParams = z.object({ id: idParam.describe('webhook id'), delivery: idParam.describe('delivery id') }).strict();
const deliveriesQuery = z
  .object({
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50).describe('newest first'),
  })
  .strict();

export function webhookRoutes(app: FastifyInstance, webhooks: WebhookAdmin): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/webhooks',
    { schema: { tags: ['webhooks'], summary: 'Webhooks (admin; never their secrets)', response: replies({ 200: z.object({ webhooks: z.array(webhookAnswer) }) }) } },
    async () => ({ webhooks: (await webhooks.list()).map(webhookJson) }),
  );

  r.post(
    '/api/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Add a webhook (admin); the answer is the only time its signing secret is shown',
        body: createBody,
        response: replies({ 201: webhookAnswer.extend({ secret: z.string().describe('signs every delivery (X-Athena-Signature); shown only here') }) }, BODY),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { webhook, secret } = await webhooks.add({ url: b.url, events: b.events, label: b.label ?? null, project: b.project ?? null, createdBy: request.principal?.name ?? null });
      reply.code(201);
      return { ...webhookJson(webhook), secret };
    },
  );

  r.delete(
    '/api/webhooks/:id',
    { schema: { tags: ['webhooks'], summary: 'Remove a webhook with its deliveries (admin)', params: webhookParams, response: replies({ 200: webhookAnswer.extend({ deleted: z.literal(true) }) }, [...INPUT, 404]) } },
    async (request) => ({ deleted: true as const, ...webhookJson(await webhooks.remove(request.params.id)) }),
  );

  r.post(
    '/api/webhooks/:id/enable',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Enable a webhook again after it was disabled (admin): pending deliveries go out, new events are queued, the secret stays',
        params: webhookParams,
        body: z.object({}).strict().nullish(),
        response: replies({ 200: z.object({ webhook: webhookAnswer }) }, [...BODY, 404]),
      },
    },
    async (request) => ({ webhook: webhookJson(await webhooks.enable(request.params.id)) }),
  );

  r.get(
    '/api/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: "A webhook's deliveries, newest first, each with its attempts and the receiver's answers (admin)",
        params: webhookParams,
        querystring: deliveriesQuery,
        response: replies({ 200: z.object({ deliveries: z.array(deliveryAnswer.extend({ history: z.array(attemptAnswer).describe('every attempt, oldest first') })) }) }, [...INPUT, 404]),
      },
    },
    async (request) => {
      const list = await webhooks.deliveries(request.params.id, request.query.limit, request.query.status);
      return { deliveries: list.map((d) => ({ ...deliveryJson(d), history: d.history.map(attemptJson) })) };
    },
  );

  r.post(
    '/api/webhooks/:id/deliveries/:delivery/redeliver',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Send a delivery again (admin): back in the outbox with the same id and body, due now, with a new retry window',
        params: deliveryParams,
        response: replies({ 200: z.object({ delivery: deliveryAnswer }) }, [...INPUT, 404]),
      },
    },
    async (request) => ({ delivery: deliveryJson(await webhooks.redeliver(request.params.id, request.params.delivery)) }),
  );
}
