// Schedules (recurring tasks): add, list, change, remove, run now, pause and resume; writes are admin-only (keys-policy).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LIMITS } from '../../core/limits.js';
import { MISSED_POLICIES, RUN_OUTCOMES, type Schedule, type ScheduleRun } from '../../core/schedule-types.js';
import { PRIORITIES } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { iso, taskJson } from '../serialize.js';
import { BODY, INPUT, replies } from '../openapi.js';
import { instanceId, labels, prioritySchema } from '../schemas.js';
import { taskJsonSchema } from '../../core/task-json.js';

/** Upcoming runs a schedule's JSON lists. */
const UPCOMING = 5;

const time = z.string().describe('ISO 8601, UTC');
export const scheduleSchema = z.object({
  id: z.number().int(),
  cron: z.string(),
  time_zone: z.string(),
  description: z.string(),
  priority: z.enum(PRIORITIES),
  notes: z.string().nullable(),
  project: z.string().nullable(),
  labels: z.array(z.string()),
  max_attempts: z.number().int().nullable().describe('null: MAX_ATTEMPTS when the task is created'),
  assignee: z.string().nullable(),
  review: z.boolean().nullable().describe('null: REVIEW_REQUIRED_LABELS / _PROJECTS decide'),
  until: time.nullable().describe('no run after this time'),
  missed: z.enum(MISSED_POLICIES),
  overlap: z.boolean(),
  paused: z.boolean(),
  next_run_at: time.nullable().describe('null while paused or after the end date'),
  next_runs: z.array(time).describe(`the next ${UPCOMING} runs`),
  last_run_at: time.nullable(),
  created_by: z.string().nullable(),
  created_at: time,
  updated_at: time,
});
const runSchema = z.object({ id: z.number().int(), run_at: time, outcome: z.enum(RUN_OUTCOMES), task_id: z.number().int().nullable(), covers: z.number().int(), created_at: time });

const scheduleParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('schedule id') });
const until = z
  .union([z.iso.datetime({ offset: true }).refine((v) => Date.parse(v) <= LIMITS.latestTimeMs, 'must not be after 9999-12-31'), z.number().int().nonnegative().max(LIMITS.latestTimeMs)])
  .describe('no run after this time (ISO 8601 or epoch ms)');
const fields = {
  cron: z.string().min(1).max(200).describe('five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly'),
  time_zone: z.string().min(1).max(100).describe('IANA time zone of the expression (default TZ)'),
  description: z.string().max(LIMITS.descriptionMax).describe('what the created task asks'),
  priority: prioritySchema,
  notes: z.string().max(LIMITS.notesMax).nullable(),
  project: z.string().trim().max(LIMITS.projectMax).nullable(),
  labels,
  max_attempts: z.number().int().min(1).max(LIMITS.maxAttemptsMax).nullable(),
  assignee: instanceId.nullable(),
  review: z.boolean().nullable(),
  until: until.nullable(),
  missed: z.enum(MISSED_POLICIES).describe('after downtime: skip (no task for missed runs) or once (one task for all of them)'),
  overlap: z.boolean().describe('create a task even while the previous one is still open'),
  paused: z.boolean(),
};
const optional = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof fields]: z.ZodOptional<(typeof fields)[K]> };
// Strict: a misspelt field must not silently create a schedule without it.
const createBody = z.object({ ...optional, cron: fields.cron, description: fields.description }).strict();
const patchBody = z.object(optional).strict();
/** Run, pause and resume take no fields: an empty object or no body. */
const noFields = z.object({}).strict().nullish();

const ms = (v: string | number | null | undefined): number | null | undefined => (v === undefined ? undefined : v === null ? null : typeof v === 'number' ? v : Date.parse(v));

export function scheduleRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue } = ctx;

  const json = (s: Schedule) => ({
    id: s.id,
    cron: s.cron,
    time_zone: s.timeZone,
    description: s.template.description,
    priority: s.template.priority,
    notes: s.template.notes,
    project: s.template.project,
    labels: s.template.labels,
    max_attempts: s.template.maxAttempts,
    assignee: s.template.assignee,
    review: s.template.review,
    until: iso(s.endsAt),
    missed: s.missed,
    overlap: s.overlap,
    paused: s.paused,
    next_run_at: s.paused ? null : iso(s.nextRunAt),
    next_runs: queue.upcomingRuns(s, UPCOMING).map((at) => iso(at)!),
    last_run_at: iso(s.lastRunAt),
    created_by: s.createdBy,
    created_at: iso(s.createdAt)!,
    updated_at: iso(s.updatedAt)!,
  });
  const runJson = (run: ScheduleRun) => ({ id: run.id, run_at: iso(run.runAt)!, outcome: run.outcome, task_id: run.taskId, covers: run.covers, created_at: iso(run.createdAt)! });
  const one = z.object({ schedule: scheduleSchema });

  r.get('/api/schedules', { schema: { tags: ['schedules'], summary: 'Every schedule with its next runs', response: replies({ 200: z.object({ schedules: z.array(scheduleSchema) }) }) } }, async () => ({
    schedules: (await queue.listSchedules()).map(json),
  }));

  r.post(
    '/api/schedules',
    { schema: { tags: ['schedules'], summary: 'Add a schedule: a task created on a cron expression (admin)', body: createBody, response: replies({ 201: one }, BODY) } },
    async (request, reply) => {
      const b = request.body;
      const schedule = await queue.addSchedule({
        cron: b.cron,
        timeZone: b.time_zone,
        template: { description: b.description, priority: b.priority, notes: b.notes, project: b.project, labels: b.labels, maxAttempts: b.max_attempts, assignee: b.assignee, review: b.review },
        endsAt: ms(b.until),
        missed: b.missed,
        overlap: b.overlap,
        paused: b.paused,
        createdBy: request.principal?.name ?? null,
      });
      reply.code(201);
      return { schedule: json(schedule) };
    },
  );

  r.get(
    '/api/schedules/:id',
    { schema: { tags: ['schedules'], summary: 'One schedule with its next runs and its latest runs', params: scheduleParams, response: replies({ 200: z.object({ schedule: scheduleSchema, runs: z.array(runSchema) }) }, [...INPUT, 404]) } },
    async (request) => {
      const schedule = await queue.getSchedule(request.params.id);
      return { schedule: json(schedule), runs: (await queue.scheduleRuns(schedule.id)).map(runJson) };
    },
  );

  r.patch(
    '/api/schedules/:id',
    { schema: { tags: ['schedules'], summary: 'Change a schedule (admin); a new cron, zone or end date counts from now', params: scheduleParams, body: patchBody, response: replies({ 200: one }, [...BODY, 404]) } },
    async (request) => {
      const b = request.body;
      const template = { description: b.description, priority: b.priority, notes: b.notes, project: b.project, labels: b.labels, maxAttempts: b.max_attempts, assignee: b.assignee, review: b.review };
      const given = Object.fromEntries(Object.entries(template).filter(([, v]) => v !== undefined));
      const schedule = await queue.updateSchedule(request.params.id, {
        cron: b.cron,
        timeZone: b.time_zone,
        endsAt: ms(b.until),
        missed: b.missed,
        overlap: b.overlap,
        paused: b.paused,
        ...(Object.keys(given).length > 0 ? { template: given } : {}),
      });
      return { schedule: json(schedule) };
    },
  );

  r.delete(
    '/api/schedules/:id',
    { schema: { tags: ['schedules'], summary: 'Remove a schedule (admin); the tasks it created stay', params: scheduleParams, response: replies({ 200: z.object({ removed: z.number().int() }) }, [...INPUT, 404]) } },
    async (request) => {
      await queue.removeSchedule(request.params.id);
      return { removed: request.params.id };
    },
  );

  r.post(
    '/api/schedules/:id/run',
    { schema: { tags: ['schedules'], summary: 'Create the schedule\'s task now (admin), whatever its timing, pause or open task', params: scheduleParams, body: noFields, response: replies({ 201: z.object({ task: taskJsonSchema, run: runSchema }) }, [...BODY, 404, 409]) } },
    async (request, reply) => {
      const { task, run } = await queue.runSchedule(request.params.id);
      reply.code(201);
      return { task: taskJson(task), run: runJson(run) };
    },
  );

  r.post(
    '/api/schedules/:id/pause',
    { schema: { tags: ['schedules'], summary: 'Pause a schedule (admin): no task until it is resumed', params: scheduleParams, body: noFields, response: replies({ 200: one }, [...BODY, 404]) } },
    async (request) => ({ schedule: json(await queue.pauseSchedule(request.params.id)) }),
  );

  r.post(
    '/api/schedules/:id/resume',
    { schema: { tags: ['schedules'], summary: 'Resume a schedule (admin) from now; runs missed while paused are not made up', params: scheduleParams, body: noFields, response: replies({ 200: one }, [...BODY, 404]) } },
    async (request) => ({ schedule: json(await queue.resumeSchedule(request.params.id)) }),
  );
}
