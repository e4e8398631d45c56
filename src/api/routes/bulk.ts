// Bulk actions (retry failed, cancel pending, purge) and export/import of the whole queue.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ForbiddenError } from '../../errors.js';
import { EXPORTED_FIELDS, FIELD_VALUES, type FieldType, type TaskField, type TaskFieldName } from '../../core/task-fields.js';
import type { AppContext } from '../context.js';
import { bulkFilter, purgeBody, refuseBadResult } from '../schemas.js';
import { LIMITS } from '../../core/limits.js';
import { parseCron } from '../../core/cron.js';
import { MISSED_POLICIES, RUN_OUTCOMES } from '../../core/schedule-types.js';
import { PRIORITIES } from '../../core/types.js';
import { BODY, replies } from '../openapi.js';

/** A stored time: integer milliseconds that still have an ISO 8601 form. */
const time = z.number().int().min(LIMITS.earliestTimeMs).max(LIMITS.latestTimeMs);

/** What an import accepts for a value of each field type (stored forms: times are integer ms). */
const IMPORT_TYPES = {
  boolean: z.boolean(),
  integer: z.number().int(),
  text: z.string(),
  time,
  timeOrNone: time,
  json: z.unknown().superRefine(refuseBadResult),
  status: z.enum(FIELD_VALUES.status),
  priority: z.enum(FIELD_VALUES.priority),
  labels: z.array(z.string()),
  ids: z.array(z.number().int()),
} satisfies Record<FieldType, z.ZodType>;

/** Narrower than their type says. */
const IMPORT_CHECKS: Partial<Record<TaskFieldName, z.ZodType>> = {
  id: z.number().int().positive(),
  descriptionUnseen: z.number().int().min(0).max(1),
  runs: z.number().int().min(0),
};

/**
 * An exported task's schema, derived from the field declaration (core/task-fields.ts): every field
 * but the derived ones, by its domain name. A field added after exports began declares an
 * importDefault, so an older export that lacks it still imports (the store fills it in).
 */
function exportedTaskSchema(typeOf: (field: TaskField) => z.ZodType, olderMayLack: boolean) {
  return z
    .object(
      Object.fromEntries(
        EXPORTED_FIELDS.map((f) => {
          const value = f.nullable ? typeOf(f).nullable() : typeOf(f);
          return [f.name, olderMayLack && f.importDefault ? value.optional() : value];
        }),
      ),
    )
    .strict();
}

const importedTask = exportedTaskSchema((f) => IMPORT_CHECKS[f.name as TaskFieldName] ?? IMPORT_TYPES[f.type], true);

/** A schedule as exported (domain names, times in ms); its expression must still parse in its time zone. */
const importedSchedule = z
  .object({
    id: z.number().int().positive(),
    cron: z.string().min(1).max(200),
    timeZone: z.string().min(1).max(100),
    template: z
      .object({
        description: z.string().max(LIMITS.descriptionMax),
        priority: z.enum(PRIORITIES),
        notes: z.string().max(LIMITS.notesMax).nullable(),
        project: z.string().max(LIMITS.projectMax).nullable(),
        labels: z.array(z.string()).max(LIMITS.labelsMax),
        maxAttempts: z.number().int().min(1).max(LIMITS.maxAttemptsMax).nullable(),
        assignee: z.string().nullable(),
        review: z.boolean().nullable(),
      })
      .strict(),
    endsAt: time.nullable(),
    missed: z.enum(MISSED_POLICIES),
    overlap: z.boolean(),
    paused: z.boolean(),
    nextRunAt: time.nullable(),
    lastRunAt: time.nullable(),
    createdBy: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .strict()
  .superRefine((s, ctx) => {
    try {
      parseCron(s.cron, s.timeZone);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message, path: ['cron'] });
    }
  });

const importedRun = z
  .object({
    id: z.number().int().positive(),
    scheduleId: z.number().int().positive(),
    runAt: time,
    outcome: z.enum(RUN_OUTCOMES),
    taskId: z.number().int().positive().nullable(),
    covers: z.number().int().min(1),
    createdAt: time,
  })
  .strict();

const exportSchema = z.object({
  version: z.literal(1),
  exportedAt: z.string(),
  tasks: z.array(importedTask),
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
  schedules: z.array(importedSchedule).optional(),
  scheduleRuns: z.array(importedRun).optional(),
}).strict().superRefine((data, ctx) => {
  // Runs belong to schedules of the same export, and each run time is handled once.
  const ids = new Set((data.schedules ?? []).map((s) => s.id));
  if (ids.size !== (data.schedules ?? []).length) ctx.addIssue({ code: 'custom', message: 'two schedules have the same id', path: ['schedules'] });
  const seen = new Set<string>();
  (data.scheduleRuns ?? []).forEach((r, i) => {
    if (!ids.has(r.scheduleId)) ctx.addIssue({ code: 'custom', message: `run ${r.id} belongs to schedule ${r.scheduleId}, which the export does not hold`, path: ['scheduleRuns', i, 'scheduleId'] });
    const key = `${r.scheduleId}:${r.runAt}`;
    if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `schedule ${r.scheduleId} has two runs at ${r.runAt}`, path: ['scheduleRuns', i, 'runAt'] });
    seen.add(key);
  });
});

/** The export as it is sent: the import's shape without its checks, which a backup must never fail on. */
const STORED_TYPES: Record<FieldType, z.ZodType> = { ...IMPORT_TYPES, time: z.number(), timeOrNone: z.number(), json: z.unknown() };
const exportAnswer = z.object({
  version: z.literal(1),
  exportedAt: z.string(),
  tasks: z.array(exportedTaskSchema((f) => STORED_TYPES[f.type], false)),
  logs: z.array(z.object({ ...exportSchema.shape.logs.element.shape, timestamp: z.number() })),
  comments: z.array(z.object({ ...exportSchema.shape.comments.unwrap().element.shape, createdAt: z.number() })).optional(),
  instances: z.array(z.object({ ...exportSchema.shape.instances.element.shape, lastSeen: z.number().nullable() })),
  schedules: z.array(z.object({ ...importedSchedule.shape, cron: z.string(), endsAt: z.number().nullable(), nextRunAt: z.number().nullable(), lastRunAt: z.number().nullable(), createdAt: z.number(), updatedAt: z.number() })).optional(),
  scheduleRuns: z.array(z.object({ ...importedRun.shape, runAt: z.number(), createdAt: z.number() })).optional(),
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

  r.get('/api/export', { schema: { tags: ['bulk'], summary: 'Every task, log row, instance and schedule as JSON', response: replies({ 200: exportAnswer }) } }, async (request, reply) => {
    adminOnly(request.principal?.role);
    reply.header('content-disposition', `attachment; filename="athena-export-${new Date().toISOString().slice(0, 10)}.json"`);
    return queue.exportAll();
  });

  r.post('/api/import', { schema: { tags: ['bulk'], summary: 'Restore an export into an empty queue', body: exportSchema, response: replies({ 200: z.object({ tasks: z.number().int(), logs: z.number().int(), schedules: z.number().int() }) }, [...BODY, 409]) }, bodyLimit: 256 * 1024 * 1024 }, async (request) => {
    adminOnly(request.principal?.role);
    return queue.importAll(request.body as never);
  });
}
