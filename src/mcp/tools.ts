// The queue as MCP tools (claim, heartbeat, complete, fail, ask, add, status) over the HTTP client,
// shared by `athena mcp` (stdio) and the server's /mcp route.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { agentSummary } from '../cli/agent-summary.js';
import { AthenaError, fenceFor, type AthenaClient } from '../client/index.js';
import { LABEL_PATTERN, LIMITS } from '../core/limits.js';
import { errorCode } from '../cli/errors.js';
import { PRIORITIES } from '../core/types.js';
import type { AgentIdentity, ClaimedTaskJson, TaskJson } from '../client/types.js';

export type McpDeps = { client: AthenaClient; agent: AgentIdentity; version?: string };

const taskId = z.number().int().positive().describe('id of the task, as returned by claim_next_task');
const leaseToken = z
  .string()
  .min(1)
  .max(100)
  .optional()
  .describe('lease_token returned by claim_next_task; when omitted, this agent\'s instance id proves that it holds the task');
const label = z.string().min(1).max(LIMITS.labelMax).regex(LABEL_PATTERN, 'labels are letters, digits and _ . : / + -');
const labels = z.array(label).max(LIMITS.labelsMax);

/** A summary for the model to read, then the data as JSON for the details. */
const text = (summary: string, data?: unknown): CallToolResult => ({
  content: [{ type: 'text', text: summary }, ...(data === undefined ? [] : [{ type: 'text' as const, text: JSON.stringify(data, null, 2) }])],
});

/** Runs a tool body; a refusal from the server becomes a tool error the model can read and act on. */
async function tool(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    const code = errorCode(err);
    const hint = err instanceof AthenaError && err.code === 'LEASE_MISMATCH' ? ' You no longer hold this task: stop working on it.' : '';
    return { isError: true, content: [{ type: 'text', text: `Error: ${(err as Error).message}${code ? ` (${code})` : ''}.${hint}` }] };
  }
}

/** What a claimed task tells the model: its lease and its text (with a reviewer's feedback when the work came back). */
function claimedText(task: ClaimedTaskJson): string {
  const feedback = task.review_feedback ? `\n\nA reviewer asked for changes to the previous attempt: ${task.review_feedback}` : '';
  return `Claimed task #${task.id} (${task.priority}). Lease expires at ${task.lease_expires_at}; call heartbeat before then.\n\nTask: ${task.description}${feedback}`;
}

const brief = (t: TaskJson) => `#${t.id} [${t.priority}] ${t.status}: ${t.description.length > 120 ? `${t.description.slice(0, 119)}…` : t.description}`;

export function createMcpServer({ client, agent, version = '1.0.0' }: McpDeps): McpServer {
  const server = new McpServer(
    { name: 'athena', version },
    {
      instructions:
        'Athena is a task queue shared by several coding agents. Take work with claim_next_task, keep the lease with heartbeat ' +
        'while you work, and end every claimed task with complete_task, fail_task or ask_for_input.',
    },
  );

  server.registerTool(
    'claim_next_task',
    {
      title: 'Claim the next task',
      description:
        'Claim a task from the Athena queue for this agent and start working on it. Without task_id, claims the highest-priority, ' +
        'oldest task this agent may take; with task_id, claims that pending task. Returns the task (description, priority, ' +
        'labels, notes) with lease_token and lease_expires_at, or says the queue is empty. Keep the lease with heartbeat while ' +
        'you work and finish with complete_task, fail_task or ask_for_input. Refused with WIP_LIMIT while you already hold a task.',
      inputSchema: {
        task_id: taskId.optional().describe('claim this pending task instead of the next one'),
        labels: labels
          .optional()
          .describe('capabilities this agent has (e.g. ["gpu","python"]); labelled tasks go only to agents with all their labels'),
        wait_seconds: z.number().min(0).max(60).optional().describe('when the queue is empty, wait up to this long for a task (default 0)'),
        lease_seconds: z.number().int().min(5).max(86_400).optional().describe('lease length; default is the server\'s (30 minutes)'),
      },
      annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args, extra) =>
      tool(async () => {
        let task;
        if (args.task_id !== undefined) {
          task = (await client.claim(args.task_id, agent, args.lease_seconds, { signal: extra.signal })).task;
        } else {
          const res = await client.claimNext(agent, { labels: args.labels, wait: args.wait_seconds, leaseSeconds: args.lease_seconds }, { signal: extra.signal });
          if (!res.task) return text('No task is available for this agent right now.', { task: null });
          task = res.task;
        }
        return text(claimedText(task), { task });
      }),
  );

  server.registerTool(
    'heartbeat',
    {
      title: 'Keep the lease',
      description:
        'Extend the lease on a task you claimed so it is not handed to another agent. Call it every few minutes while you work, ' +
        'before lease_expires_at; optionally say what you are doing. An error LEASE_MISMATCH or CONFLICT means the task is no ' +
        'longer yours (it was cancelled or requeued): stop working on it.',
      inputSchema: {
        task_id: taskId,
        lease_token: leaseToken,
        progress: z.string().max(2000).optional().describe('one line on what you are doing, kept in the task log'),
        lease_seconds: z.number().int().min(5).max(86_400).optional().describe('new lease length from now'),
      },
      annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      tool(async () => {
        const res = await client.heartbeat(args.task_id, fenceFor(agent, args.lease_token), { progress: args.progress, leaseSeconds: args.lease_seconds });
        const when = res.lease_expires_at ? `lease extended until ${res.lease_expires_at}` : `the task is ${res.status}`;
        const told = [
          res.description_changed ? `\n\nThe task's description was edited; it now reads:\n${res.task.description}` : '',
          ...(res.new_comments ?? []).map((c) => `\n\nNew comment from ${c.author}: ${c.body}`),
        ].join('');
        return text(`Task #${args.task_id}: ${when}.${told}`, {
          status: res.status,
          lease_expires_at: res.lease_expires_at ?? null,
          answer: res.task.answer,
          description_changed: res.description_changed ?? false,
          new_comments: res.new_comments ?? [],
        });
      }),
  );

  server.registerTool(
    'complete_task',
    {
      title: 'Complete a task',
      description:
        'Mark a task you hold as completed. Put in notes what you did and where the result is (commit, branch, PR, file); the ' +
        'person who asked reads it. Optionally attach structured data as result. Returns the id of the next task ready to be claimed, if any. ' +
        'With claim_next=true it also claims your next task in the same call, as claim_next_task would (no need to call it).',
      inputSchema: {
        task_id: taskId,
        lease_token: leaseToken,
        notes: z.string().max(LIMITS.notesMax).optional().describe('summary of the work done, for humans'),
        result: z.record(z.string(), z.unknown()).optional().describe('structured result, e.g. {"pr": 42, "branch": "fix/login"}'),
        claim_next: z.boolean().optional().describe('also claim your next task now (default false); it comes back as claim_next_task returns one'),
        labels: labels.optional().describe('with claim_next: capabilities this agent has, as for claim_next_task'),
        lease_seconds: z.number().int().min(5).max(86_400).optional().describe('with claim_next: lease length of the next task'),
      },
      annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      tool(async () => {
        const claimNext = args.claim_next ? { agent, labels: args.labels, leaseSeconds: args.lease_seconds } : undefined;
        const res = await client.complete(args.task_id, fenceFor(agent, args.lease_token), { notes: args.notes, result: args.result, claimNext });
        const done = `Task #${args.task_id} ${res.status === 'in_review' ? 'completed; it waits for a person to review it' : 'completed'}.`;
        const data = { task_id: res.task_id, status: res.status, next_task_id: res.next_task_id };
        if (args.claim_next) {
          const task = res.next_task ?? null;
          return text(`${done} ${task ? claimedText(task) : 'No task is available for this agent right now.'}`, { ...data, next_task: task });
        }
        const next = res.next_task_id ? ` Next task ready to claim: #${res.next_task_id}.` : ' No task is ready to be claimed.';
        return text(`${done}${next}`, data);
      }),
  );

  server.registerTool(
    'fail_task',
    {
      title: 'Fail a task',
      description:
        'Report that you could not do a task you hold, with the reason in error. Set retry=true when the problem may be ' +
        'temporary (a flaky service, a timeout): the task is requeued with backoff while attempts remain. Otherwise it is marked ' +
        'failed. If you only need a decision or information from a person, use ask_for_input instead.',
      inputSchema: {
        task_id: taskId,
        lease_token: leaseToken,
        error: z.string().min(1).max(LIMITS.errorMax).describe('what went wrong, with the error message'),
        retry: z.boolean().optional().describe('requeue for another attempt (default false)'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    (args) =>
      tool(async () => {
        const res = await client.fail(args.task_id, fenceFor(agent, args.lease_token), { error: args.error, retry: args.retry });
        const what =
          res.status === 'pending'
            ? `will be retried (${res.task.attempts} of ${res.task.max_attempts} attempts used)`
            : 'is marked failed';
        return text(`Task #${args.task_id} ${what}.`, { task_id: res.task_id, status: res.status });
      }),
  );

  server.registerTool(
    'ask_for_input',
    {
      title: 'Ask a person',
      description:
        'Ask the people behind the queue a question about a task you hold, when you cannot go on without a decision or ' +
        'information. The task moves to needs_input and stays yours, without a lease deadline, until someone answers (in ' +
        'Discord, the dashboard or the API). Poll with queue_status and task_id: the answer appears in the task\'s answer field ' +
        'and its status returns to in_progress.',
      inputSchema: {
        task_id: taskId,
        lease_token: leaseToken,
        question: z.string().min(1).max(LIMITS.notesMax).describe('a question a person can answer without more context'),
      },
      annotations: { readOnlyHint: false, openWorldHint: true },
    },
    (args) =>
      tool(async () => {
        const res = await client.ask(args.task_id, fenceFor(agent, args.lease_token), args.question);
        return text(`Task #${args.task_id} now waits for an answer (${res.status}).`, { task_id: res.task_id, status: res.status });
      }),
  );

  server.registerTool(
    'add_task',
    {
      title: 'Add a task',
      description:
        'Add a new task to the queue, for example follow-up work you found that is outside your current task. Describe it so ' +
        'another agent can do it without your context. Returns the new task id.',
      inputSchema: {
        description: z.string().min(1).max(LIMITS.descriptionMax).describe('what to do, self-contained'),
        priority: z.enum(PRIORITIES).optional().describe('high, medium (default) or low'),
        labels: labels.optional().describe('capabilities an agent needs to take it'),
        project: z.string().max(LIMITS.projectMax).optional().describe('project or repository it belongs to'),
        depends_on: z.array(z.number().int().positive()).max(LIMITS.dependsOnMax).optional().describe('task ids that must complete before it can start'),
        notes: z.string().max(LIMITS.notesMax).optional().describe('extra context for the agent that takes it'),
      },
      annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      tool(async () => {
        const res = await client.create({ ...args, submitted_by: agent.instanceName });
        return text(`Task #${res.task_id} added (${res.task.priority}, ${res.status}).`, { task_id: res.task_id, status: res.status });
      }),
  );

  server.registerTool(
    'comment',
    {
      title: 'Comment on a task',
      description:
        'Write a comment on a task you hold, for the people following it (dashboard, Discord thread): progress worth ' +
        'knowing, a decision you made, a link. Comments people write reach you at your next heartbeat.',
      inputSchema: {
        task_id: taskId,
        body: z.string().min(1).max(LIMITS.commentMax).describe('the comment'),
      },
      annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args) =>
      tool(async () => {
        const res = await client.comment(args.task_id, args.body, { by: agent.instanceId, source: 'agent' });
        return text(`Comment #${res.comment.id} added to task #${args.task_id}.`, { comment: res.comment });
      }),
  );

  server.registerTool(
    'queue_status',
    {
      title: 'Queue status',
      description:
        'Without task_id: how many tasks are in each state, the next pending tasks, and what this agent holds. With task_id: ' +
        'that task in full (status, notes, question and answer, error, comments, log).',
      inputSchema: { task_id: taskId.optional().describe('show this task in full') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      tool(async () => {
        if (args.task_id !== undefined) {
          const [res, { comments }] = await Promise.all([client.get(args.task_id), client.comments(args.task_id)]);
          const said = comments.map((c) => `\n${c.author}: ${c.body}`).join('');
          return text(`${brief(res.task)}${said ? `\n\nComments:${said}` : ''}`, { ...res, comments });
        }
        const { stats, next, held } = await agentSummary(client, agent);
        const lines = [
          `${stats.pending} pending, ${stats.in_progress} in progress, ${stats.needs_input} waiting for input, ${stats.in_review ?? 0} in review, ${stats.blocked} blocked, ` +
            `${stats.completed} completed, ${stats.failed} failed, ${stats.cancelled} cancelled.`,
          held.length ? `You (${agent.instanceId}) hold: ${held.map(brief).join('; ')}` : `You (${agent.instanceId}) hold no task.`,
          next.length ? `Next pending: ${next.map(brief).join('; ')}` : 'No task is pending.',
        ];
        const counts = Object.fromEntries((['pending', 'in_progress', 'needs_input', 'in_review', 'blocked', 'completed', 'failed', 'cancelled', 'total'] as const).map((k) => [k, stats[k]]));
        return text(lines.join('\n'), { counts, held, next, instances: stats.instances });
      }),
  );

  return server;
}
