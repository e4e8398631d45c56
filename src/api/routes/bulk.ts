// Bulk actions (retry failed, cancel pending, purge) and export/import of the whole queue.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ForbiddenError } from '../../errors.js';
import { TASK_STATUSES, PRIORITIES } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { bulkFilter, purgeBody, refuseBadResult } from '../schemas.js';
import { LIMITS } from '../../core/limits.js';
import { BODY, replies } from '../openapi.js';

/** A stored time: integer milliseconds that still have an ISO 8601 form. */
const time = z.number().int().min(LIMITS.earliestTimeMs).max(LIMITS.latestTimeMs);

const exportSchema = z.object({
  version: z.literal(1),
  exportedAt: z.string(),
  tasks: z.array(
    z.object({
      id: z.number().int().positive(),
      description: z.string(),
      status: z.enum(TASK_STATUSES),
      priority: z.enum(PRIORITIES),
      instanceId: z.string().nullable(),
      instanceName: z.string().nullable(),
      createdAt: time,
      claimedAt: time.nullable(),
      completedAt: time.nullable(),
      updatedAt: time,
      notes: z.string().nullable(),
      submittedBy: z.string().nullable(),
      project: z.string().nullable(),
      labels: z.array(z.string()),
      dependsOn: z.array(z.number().int()),
      attempts: z.number().int(),
      maxAttempts: z.number().int(),
      runAfter: time,
      leaseExpiresAt: time.nullable(),
      leaseToken: z.string().nullable(),
      result: z.unknown().superRefine(refuseBadResult),
      error: z.string().nullable(),
      question: z.string().nullable(),
      answer: z.string().nullable(),
      blockedReason: z.string().nullable(),
      idempotencyKey: z.string().nullable(),
      // Absent in exports from before assignment and comments existed.
      assignee: z.string().nullable().default(null),
      descriptionUnseen: z.number().int().min(0).max(1).default(0),
      commentsUnseenFrom: z.number().int().nullable().default(null),
      // Absent in exports from before review and live output existed.
      review: z.boolean().default(false),
      reviewFeedback: z.string().nullable().default(null),
      preferredInstanceId: z.string().nullable().default(null),
      preferredUntil: time.nullable().default(null),
      runs: z.number().int().min(0).default(0),
      // Absent in exports from before schedules existed.
      scheduleId: z.number().int().positive().nullable().default(null),
    }).strict(),
  ),
  logs: z.array(
    z.object({
      id: z.number().int(),
      taskId: z.number().int().nullable(),
      action: z.string(),
      details: z.string().nullable(),
      instanceId: z.string().nullable(),
      timestamp: time,
    }).strict(),
  ),
  comments: z
    .array(
      z.object({
        id: z.number().int().positive(),
        taskId: z.number().int().positive(),
        author: z.string(),
        body: z.string(),
        source: z.string(),
        discordMessageId: z.string().nullable(),
        createdAt: time,
      }).strict(),
    )
    .optional(),
  instances: z.array(
    z.object({
      id: z.string(),
      name: z.string().nullable(),
      lastSeen: time.nullable(),
      currentTaskId: z.number().nullable(),
      status: z.enum(['idle', 'working', 'offline']),
    }).strict(),
  ),
}).strict();

/** The export as it is sent: the import's shape without its checks, which a backup must never fail on. */
const exportAnswer = z.object({
  version: z.literal(1),
  exportedAt: z.string(),
  tasks: z.array(z.object({ ...exportSchema.shape.tasks.element.shape, createdAt: z.number(), claimedAt: z.number().nullable(), completedAt: z.number().nullable(), updatedAt: z.number(), runAfter: z.number(), leaseExpiresAt: z.number().nullable(), preferredUntil: z.number().nullable(), result: z.unknown() })),
  logs: z.array(z.object({ ...exportSchema.shape.logs.element.shape, timestamp: z.number() })),
  comments: z.array(z.object({ ...exportSchema.shape.comments.unwrap().element.shape, createdAt: z.number() })).optional(),
  instances: z.array(z.object({ ...exportSchema.shape.instances.element.shape, lastSeen: z.number().nullable() })),
});

const countAnswer = z.object({ count: z.number().int().describe('tasks changed') });

export function bulkRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue } = ctx;
  const adminOnly = (role: string | undefined) => {
    if (role !== 'admin') throw new ForbiddenError('This action needs an admin key');
  };

  r.post('/api/tasks/retry-failed', { schema: { tags: ['bulk'], summary: 'Retry every failed task (optionally by label/project)', body: bulkFilter.nullish(), response: replies({ 200: countAnswer }, BODY) } }, async (request) => {
    adminOnly(request.principal?.role);
    const f = request.body ?? {};
    const count = await queue.retryFailed({ label: f.label, project: f.project, priority: f.priority, search: f.q, instanceId: f.instance_id });
    return { count };
  });

  r.post('/api/tasks/cancel-pending', { schema: { tags: ['bulk'], summary: 'Cancel every pending task matching the filter', body: bulkFilter.nullish(), response: replies({ 200: countAnswer }, BODY) } }, async (request) => {
    adminOnly(request.principal?.role);
    const f = request.body ?? {};
    const count = await queue.cancelPending({ label: f.label, project: f.project, priority: f.priority, search: f.q, instanceId: f.instance_id }, f.by ?? request.principal?.name);
    return { count };
  });

  r.post('/api/tasks/purge', { schema: { tags: ['bulk'], summary: 'Delete completed/cancelled tasks older than N days', body: purgeBody, response: replies({ 200: countAnswer }, BODY) } }, async (request) => {
    adminOnly(request.principal?.role);
    return { count: await queue.purge(request.body.older_than_days) };
  });

  r.get('/api/export', { schema: { tags: ['bulk'], summary: 'Every task, log row and instance as JSON', response: replies({ 200: exportAnswer }) } }, async (request, reply) => {
    adminOnly(request.principal?.role);
    reply.header('content-disposition', `attachment; filename="athena-export-${new Date().toISOString().slice(0, 10)}.json"`);
    return queue.exportAll();
  });

  r.post('/api/import', { schema: { tags: ['bulk'], summary: 'Restore an export into an empty queue', body: exportSchema, response: replies({ 200: z.object({ tasks: z.number().int(), logs: z.number().int() }) }, [...BODY, 409]) }, bodyLimit: 256 * 1024 * 1024 }, async (request) => {
    adminOnly(request.principal?.role);
    return queue.importAll(request.body as never);
  });
}
