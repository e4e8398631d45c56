// The lease protocol beside the original routes: claim-next (long-poll), heartbeat, fail, release, ask/answer.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { UnauthorizedError } from '../../errors.js';
import type { HeldRequests } from '../held-requests.js';
import { claimAfter, claimingAgent } from '../claiming-agent.js';
import { askBody, claimNextBody, failBody, heartbeatBody, idParams, releaseBody, requeueHeldBody } from '../schemas.js';
import { claimedTaskJson, commentJson, taskJson } from '../serialize.js';
import { BODY, replies } from '../openapi.js';
import { claimNextSchema, failedSchema, heartbeatSchema, requeuedHeldSchema, taskChangeSchema } from '../responses.js';

export function leaseRoutes(app: FastifyInstance, ctx: AppContext, held?: HeldRequests): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue, waiters } = ctx;

  r.post(
    '/api/tasks/claim-next',
    {
      schema: {
        tags: ['lease'],
        summary: 'Atomically claim the best task this agent can serve; with `wait`, hold the request until one appears',
        body: claimNextBody,
        response: replies({ 200: claimNextSchema }, [...BODY, 409]),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const agent = claimingAgent(b.instance_id, b);
      const waitMs = Math.min(b.wait ?? 0, ctx.config.LONG_POLL_MAX_SECONDS) * 1000;
      let task;
      if (waitMs > 0) {
        const abort = new AbortController();
        let revoked = false;
        const onClose = () => {
          if (!reply.raw.writableFinished) abort.abort();
        };
        reply.raw.on('close', onClose);
        // Revoking the key ends the wait at once (and answers 401 below).
        const release = held?.hold(request.principal, () => {
          revoked = true;
          abort.abort();
        });
        try {
          task = await waiters.claimOrWait(agent, waitMs, abort.signal);
        } finally {
          reply.raw.off('close', onClose);
          release?.();
        }
        if (task && abort.signal.aborted) {
          // The agent hung up, or its key was revoked, after we claimed for it: give the task back at once.
          await queue.release(task.id, { leaseToken: task.leaseToken, reason: revoked ? 'API key revoked during long-poll' : 'agent disconnected during long-poll' });
          if (!revoked) return reply;
        }
        if (revoked) throw new UnauthorizedError('This API key was revoked');
      } else {
        task = await queue.claimNext(agent);
      }
      return { task: task ? claimedTaskJson(task) : null };
    },
  );

  r.post(
    '/api/tasks/:id/heartbeat',
    { schema: { tags: ['lease'], summary: 'Extend the lease of a task you hold', params: idParams, body: heartbeatBody, response: replies({ 200: heartbeatSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const b = request.body;
      const task = await queue.heartbeat(request.params.id, {
        leaseToken: b.lease_token,
        instanceId: b.instance_id,
        leaseMs: b.lease_seconds ? b.lease_seconds * 1000 : null,
        progress: b.progress,
      });
      // What changed while the agent worked: told once, here.
      const notice = await queue.holderNotice(task);
      return {
        status: task.status,
        task_id: task.id,
        lease_expires_at: taskJson(task).lease_expires_at,
        task: taskJson(task),
        description_changed: notice.descriptionChanged,
        new_comments: notice.comments.map(commentJson),
      };
    },
  );

  r.post(
    '/api/tasks/:id/fail',
    { schema: { tags: ['lease'], summary: 'Report failure; with retry:true the task is retried with backoff while attempts remain', params: idParams, body: failBody, response: replies({ 200: failedSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const b = request.body;
      const task = await queue.fail(request.params.id, { leaseToken: b.lease_token, instanceId: b.instance_id, error: b.error ?? '', retry: b.retry });
      const changed = { status: task.status, task_id: task.id, task: taskJson(task) };
      if (!b.claim_next) return changed;
      const next = await claimAfter(queue, request.log, b.instance_id!, b.claim_next, task.id);
      return { ...changed, next_task: next ? claimedTaskJson(next) : null };
    },
  );

  r.post(
    '/api/tasks/:id/release',
    { schema: { tags: ['lease'], summary: 'Give a task back to the queue', params: idParams, body: releaseBody, response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const b = request.body;
      const task = await queue.release(request.params.id, { leaseToken: b.lease_token, instanceId: b.instance_id, reason: b.reason });
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );

  r.post(
    '/api/tasks/requeue-held',
    {
      schema: {
        tags: ['lease'],
        summary: 'An agent restarted under the same instance_id: the tasks its previous process held go back to the queue now (the attempt stays used, as when a lease expires)',
        body: requeueHeldBody,
        response: replies({ 200: requeuedHeldSchema }, [...BODY]),
      },
    },
    async (request) => {
      const b = request.body;
      const moved = await queue.requeueHeld({ instanceId: b.instance_id }, b.reason);
      return { tasks: moved.map(({ task, previousStatus }) => ({ status: task.status, task_id: task.id, task: taskJson(task), previous_status: previousStatus })) };
    },
  );

  r.post(
    '/api/tasks/:id/ask',
    { schema: { tags: ['lease'], summary: 'Ask a human a question: the task moves to needs_input until answered', params: idParams, body: askBody, response: replies({ 200: taskChangeSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const b = request.body;
      const task = await queue.askForInput(request.params.id, { leaseToken: b.lease_token, instanceId: b.instance_id, question: b.question });
      return { status: task.status, task_id: task.id, task: taskJson(task) };
    },
  );
}
