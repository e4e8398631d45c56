// Everyday changes to a task by people: edit (PATCH), delete, reopen, and its comments.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ForbiddenError } from '../../errors.js';
import type { FieldChange } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { commentBody, deleteQuery, editBody, idParams, reopenBody } from '../schemas.js';
import { commentJson, iso, taskJson } from '../serialize.js';
import { BODY, INPUT, replies } from '../openapi.js';
import { commentSchema, commentsSchema, deletedSchema, editedSchema, taskChangeSchema } from '../responses.js';

const toMs = (v: string | number | null | undefined): number | null | undefined =>
  v === undefined ? undefined : v === null ? null : typeof v === 'number' ? v : Date.parse(v);

/** Who acts: the `by` an admin names (the dashboard sends the person's name), else the key's name. */
export function actor(request: FastifyRequest, by: string | null | undefined): string | null {
  const principal = request.principal;
  if (by && (!principal || principal.role === 'admin')) return by;
  return principal?.name ?? by ?? null;
}

const changeJson = (c: FieldChange) =>
  c.field === 'run_after' ? { field: c.field, old: c.old ? iso(c.old as number) : null, new: c.new ? iso(c.new as number) : null } : c;

export function taskEditRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue } = ctx;

  r.patch(
    '/api/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Edit a task that has not finished (description, priority, labels, project, notes, max_attempts, run_after, depends_on, assignee); unknown fields are refused',
        params: idParams,
        body: editBody,
        response: replies({ 200: editedSchema }, [...BODY, 404, 409, 422]),
      },
    },
    async (request) => {
      const b = request.body;
      const { task, changes, warnings } = await queue.edit(request.params.id, {
        description: b.description,
        priority: b.priority,
        notes: b.notes,
        project: b.project === undefined ? undefined : b.project || null,
        labels: b.labels,
        dependsOn: b.depends_on,
        maxAttempts: b.max_attempts,
        runAfter: toMs(b.run_after),
        assignee: b.assignee,
        by: actor(request, b.by),
      });
      return { status: task.status, task_id: task.id, priority: task.priority, task: taskJson(task), changes: changes.map(changeJson), warnings };
    },
  );

  r.delete(
    '/api/tasks/:id',
    { schema: { tags: ['tasks'], summary: 'Delete a task (admin); a held task or one others depend on only with force=true', params: idParams, querystring: deleteQuery, response: replies({ 200: deletedSchema }, [...INPUT, 404, 409]) } },
    async (request) => {
      const task = await queue.remove(request.params.id, { force: request.query.force === 'true', by: actor(request, request.query.by) });
      return { status: 'deleted' as const, task_id: task.id, task: taskJson(task) };
    },
  );

  r.post(
    '/api/tasks/:id/reopen',
    { schema: { tags: ['tasks'], summary: 'Move a completed, cancelled or failed task back to pending with a fresh attempt budget', params: idParams, body: reopenBody, response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const task = await queue.reopen(request.params.id, { by: actor(request, request.body?.by), reason: request.body?.reason });
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );

  r.get('/api/tasks/:id/comments', { schema: { tags: ['comments'], summary: 'The comments on a task, oldest first', params: idParams, response: replies({ 200: commentsSchema }, [...INPUT, 404]) } }, async (request) => {
    return { comments: (await queue.comments(request.params.id)).map(commentJson) };
  });

  r.post(
    '/api/tasks/:id/comments',
    { schema: { tags: ['comments'], summary: 'Comment on a task (an agent key: on a task it holds)', params: idParams, body: commentBody, response: replies({ 201: commentSchema }, [...BODY, 404, 409]) } },
    async (request, reply) => {
      const principal = request.principal;
      const id = request.params.id;
      let author = actor(request, request.body.by) ?? 'api';
      let source: string = request.body.source ?? 'api';
      if (principal?.role === 'agent') {
        // An agent speaks only about its own work, under its own instance id.
        const task = await queue.get(id);
        if (!principal.instanceId || task.instanceId !== principal.instanceId) throw new ForbiddenError(`This key's agent does not hold task #${id}`);
        author = principal.instanceId;
        source = 'agent';
      }
      const { comment } = await queue.comment(id, { author, body: request.body.body, source });
      reply.code(201);
      return { comment: commentJson(comment) };
    },
  );
}
