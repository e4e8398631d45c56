// Steering a task from outside: details with its log, cancel, priority, answer, retry, dependencies.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { answerBody, byBody, reviewBody, cancelBody, dependenciesBody, idParams, priorityBody } from '../schemas.js';
import { logJson, taskJson } from '../serialize.js';
import { BODY, INPUT, replies } from '../openapi.js';
import { priorityChangeSchema, taskChangeSchema, taskWithLogsSchema } from '../responses.js';
import { actor } from './tasks-edit.js';

export function taskAdminRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue } = ctx;
  const who = (by: string | null | undefined, principal: { name: string } | null) => by ?? principal?.name ?? null;

  r.get('/api/tasks/:id', { schema: { tags: ['tasks'], summary: 'One task with its full log', params: idParams, response: replies({ 200: taskWithLogsSchema }, [...INPUT, 404]) } }, async (request) => {
    const { task, logs } = await queue.getWithLogs(request.params.id);
    return { task: taskJson(task), logs: logs.map(logJson) };
  });

  r.post(
    '/api/tasks/:id/cancel',
    { schema: { tags: ['tasks'], summary: 'Cancel a task that has not finished', params: idParams, body: cancelBody, response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const task = await queue.cancel(request.params.id, { user: who(request.body?.by, request.principal), reason: request.body?.reason });
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );

  const setPriority = async (request: { params: { id: number }; body: { priority: 'high' | 'medium' | 'low'; by?: string | null }; principal: { name: string } | null }) => {
    const task = await queue.setPriority(request.params.id, request.body.priority, who(request.body.by, request.principal));
    return { status: task.status, task_id: task.id, priority: task.priority, task: taskJson(task) };
  };
  r.post('/api/tasks/:id/priority', { schema: { tags: ['tasks'], summary: 'Change a task\'s priority', params: idParams, body: priorityBody, response: replies({ 200: priorityChangeSchema }, [...BODY, 404, 409]) } }, setPriority);

  r.post(
    '/api/tasks/:id/answer',
    { schema: { tags: ['tasks'], summary: 'Answer the question of a task in needs_input; it returns to its agent', params: idParams, body: answerBody, response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const task = await queue.answer(request.params.id, { answer: request.body.answer, by: who(request.body.by, request.principal) });
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );

  r.post(
    '/api/tasks/:id/retry',
    { schema: { tags: ['tasks'], summary: 'Put a failed task back to pending with a fresh attempt budget', params: idParams, body: byBody, response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const task = await queue.retry(request.params.id, who(request.body?.by, request.principal));
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );

  r.post(
    '/api/tasks/:id/review',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Decide on a task in in_review: accept (completed) or request changes (pending again with the feedback, no attempt used); admin or reviewer key',
        params: idParams,
        body: reviewBody,
        response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409]),
      },
    },
    async (request) => {
      const b = request.body;
      // A reviewer key decides as itself; only an admin (the dashboard) names the person.
      const task = await queue.review(request.params.id, { decision: b.decision, feedback: b.feedback, by: actor(request, b.by) });
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );

  r.post(
    '/api/tasks/:id/dependencies',
    { schema: { tags: ['tasks'], summary: 'Add dependencies to a pending task (cycles are refused)', params: idParams, body: dependenciesBody, response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409, 422]) } },
    async (request) => {
      const task = await queue.addDependencies(request.params.id, request.body.depends_on);
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );
}
