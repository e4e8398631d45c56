// The original Athena task routes, kept byte-compatible for existing agents and scripts.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TaskStatus } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { claimAfter } from '../claiming-agent.js';
import { agentBody, completeBody, createTaskBody, idParams, listQuery, nextQuery } from '../schemas.js';
import { claimedTaskJson, taskJson } from '../serialize.js';
import { BODY, INPUT, replies } from '../openapi.js';
import { claimedSchema, completedSchema, createdSchema, nextTaskSchema, taskPageSchema } from '../responses.js';

const toMs = (v: string | number | null | undefined): number | null =>
  v === null || v === undefined ? null : typeof v === 'number' ? v : Date.parse(v);

export function originalTaskRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue } = ctx;

  r.get(
    '/api/tasks',
    { schema: { tags: ['tasks'], summary: 'List tasks (pending in queue order by default)', querystring: listQuery, response: replies({ 200: taskPageSchema }, INPUT) } },
    async (request) => {
      const q = request.query;
      const statuses = q.status ?? ['pending'];
      const all = statuses.includes('all');
      const status = all ? undefined : (statuses as TaskStatus[]);
      const onlyPending = !all && statuses.length === 1 && statuses[0] === 'pending';
      const page = await queue.list({
        status,
        priority: q.priority,
        instanceId: q.instance_id,
        label: q.label,
        project: q.project,
        assignee: q.assignee,
        search: q.q,
        order: q.order ?? (onlyPending ? 'queue' : 'newest'),
        limit: q.limit,
        cursor: q.cursor,
      });
      return { tasks: page.tasks.map(taskJson), next_cursor: page.nextCursor };
    },
  );

  r.post(
    '/api/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Create a task (Idempotency-Key header makes retries safe)',
        body: createTaskBody,
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }).passthrough(),
        response: replies({ 201: createdSchema.describe('created'), 200: createdSchema.describe('an Idempotency-Key named a task created before: that task') }, [...BODY, 422]),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const { task, created, warnings } = await queue.create({
        description: body.description,
        priority: body.priority,
        submittedBy: body.submitted_by ?? request.principal?.name ?? 'api',
        notes: body.notes,
        project: body.project,
        labels: body.labels,
        dependsOn: body.depends_on,
        runAfter: toMs(body.run_after),
        maxAttempts: body.max_attempts,
        idempotencyKey: body.idempotency_key ?? request.headers['idempotency-key'] ?? null,
        assignee: body.assignee,
        review: body.review,
      });
      reply.code(created ? 201 : 200);
      return { task_id: task.id, status: task.status, created, task: taskJson(task), ...(warnings.length > 0 ? { warnings } : {}) };
    },
  );

  r.get(
    '/api/tasks/next',
    { schema: { tags: ['tasks'], summary: 'Peek at the next task in queue order, passing over tasks just shown to other callers (does not claim)', querystring: nextQuery, response: replies({ 200: nextTaskSchema }, INPUT) } },
    async (request) => {
      const task = await queue.offerNext(request.query.instance_id ?? null);
      return { task: task ? taskJson(task) : null };
    },
  );

  r.post(
    '/api/tasks/:id/claim',
    { schema: { tags: ['tasks'], summary: 'Claim a pending task by id (409 when it is not pending)', params: idParams, body: agentBody, response: replies({ 200: claimedSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const b = request.body;
      const task = await queue.claim(request.params.id, {
        instanceId: b.instance_id,
        instanceName: b.instance_name ?? b.instance_id,
        leaseMs: b.lease_seconds ? b.lease_seconds * 1000 : null,
      });
      return {
        status: 'claimed' as const,
        task_id: task.id,
        lease_token: task.leaseToken,
        lease_expires_at: new Date(task.leaseExpiresAt!).toISOString(),
        task: claimedTaskJson(task),
      };
    },
  );

  r.post(
    '/api/tasks/:id/complete',
    { schema: { tags: ['tasks'], summary: 'Complete a task you hold (by lease_token or instance_id); a task that requires review goes to in_review', params: idParams, body: completeBody, response: replies({ 200: completedSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const b = request.body;
      const completion = { leaseToken: b.lease_token, instanceId: b.instance_id, notes: b.notes, result: b.result };
      if (!b.claim_next) {
        // The next ready task is read with the completion (in its transaction, where the store can).
        const { task, nextReadyId } = await queue.completeThenNext(request.params.id, completion);
        // in_review for a task that requires review; 'completed' otherwise, as the original answered.
        return { status: task.status as 'completed' | 'in_review', task_id: task.id, next_task_id: nextReadyId, task: taskJson(task) };
      }
      const task = await queue.complete(request.params.id, completion);
      const status = task.status as 'completed' | 'in_review';
      const next = await claimAfter(queue, request.log, b.instance_id!, b.claim_next, task.id);
      return {
        status,
        task_id: task.id,
        next_task_id: next ? next.id : await queue.nextReadyId(),
        task: taskJson(task),
        next_task: next ? claimedTaskJson(next) : null,
      };
    },
  );
}
