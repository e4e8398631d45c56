// Commands an agent runs on the tasks it works on: claim, wait, heartbeat, complete, fail, release, ask.
import { fenceFor } from '../../client/index.js';
import { duration, shortTime, taskTitle } from '../format.js';
import type { ClaimedTaskJson } from '../../client/types.js';
import { leaseTokenFor, type CommandContext, type CommandOutput } from './context.js';
import { UsageError } from '../errors.js';

/** Longest single long-poll request; the server caps it at LONG_POLL_MAX_SECONDS anyway. */
const POLL_SECONDS = 60;

function claimedText(ctx: CommandContext, t: ClaimedTaskJson): string {
  return [
    `✅ Task #${t.id} claimed`,
    `   ${taskTitle(t, ctx.style, ctx.width - 10)}`,
    ctx.style.dim(`   lease token ${t.lease_token} (until ${shortTime(t.lease_expires_at)})`),
  ].join('\n');
}

export async function claim(ctx: CommandContext, id: number, leaseSeconds?: number): Promise<CommandOutput> {
  const res = await ctx.client.claim(id, ctx.agent, leaseSeconds);
  return { json: res, text: claimedText(ctx, res.task) };
}

/** Long-polls until a task can be claimed for this agent, or `timeoutSeconds` pass (forever without one). */
export async function wait(ctx: CommandContext, input: { labels?: string[]; timeoutSeconds?: number; leaseSeconds?: number }): Promise<CommandOutput> {
  const started = Date.now();
  const deadline = input.timeoutSeconds === undefined ? Infinity : started + input.timeoutSeconds * 1000;
  while (!ctx.signal?.aborted) {
    const left = (deadline - Date.now()) / 1000;
    if (left <= 0) break;
    let res;
    try {
      res = await ctx.client.claimNext(ctx.agent, { labels: input.labels, wait: Math.min(POLL_SECONDS, left), leaseSeconds: input.leaseSeconds }, { signal: ctx.signal });
    } catch (err) {
      // Interrupted: the server sees the hang-up and gives back anything it claimed for us.
      if (ctx.signal?.aborted) break;
      throw err;
    }
    if (res.task) return { json: res, text: claimedText(ctx, res.task) };
  }
  const waited = duration(Date.now() - started);
  return { json: { task: null }, text: ctx.signal?.aborted ? `📭 Stopped waiting after ${waited}` : `📭 No task within ${waited}` };
}

export type FenceInput = { leaseToken?: string };

export async function heartbeat(ctx: CommandContext, id: number, input: FenceInput & { progress?: string; leaseSeconds?: number }): Promise<CommandOutput> {
  const fence = fenceFor(ctx.agent, leaseTokenFor(id, input.leaseToken, ctx.env));
  const res = await ctx.client.heartbeat(id, fence, { progress: input.progress, leaseSeconds: input.leaseSeconds });
  const until = res.lease_expires_at ? `lease extended until ${shortTime(res.lease_expires_at)}` : `still ${res.status}`;
  return { json: res, text: `💓 Task #${id} ${until}` };
}

/** `next`: also claim this agent's next task in the same request (complete's claim_next), with these labels. */
export async function complete(
  ctx: CommandContext, id: number, input: FenceInput & { notes?: string; result?: unknown; next?: boolean; labels?: string[]; leaseSeconds?: number },
): Promise<CommandOutput> {
  if (!input.next && (input.labels !== undefined || input.leaseSeconds !== undefined)) throw new UsageError('--labels and --lease-seconds say how to claim the next task: add --next');
  const fence = fenceFor(ctx.agent, leaseTokenFor(id, input.leaseToken, ctx.env));
  const claimNext = input.next ? { agent: ctx.agent, labels: input.labels, leaseSeconds: input.leaseSeconds } : undefined;
  const res = await ctx.client.complete(id, fence, { notes: input.notes, result: input.result, claimNext });
  const lines = [`✅ Task #${id} ${res.status === 'in_review' ? 'completed; it waits for review' : 'completed'}`];
  if (input.next) lines.push(res.next_task ? claimedText(ctx, res.next_task) : '📭 No task ready for you now (athena wait waits for one)');
  else if (res.next_task_id) lines.push(ctx.style.dim(`   next in queue: #${res.next_task_id}`));
  return { json: res, text: lines.join('\n') };
}

export async function fail(ctx: CommandContext, id: number, input: FenceInput & { error?: string; retry?: boolean }): Promise<CommandOutput> {
  const fence = fenceFor(ctx.agent, leaseTokenFor(id, input.leaseToken, ctx.env));
  const res = await ctx.client.fail(id, fence, { error: input.error, retry: input.retry });
  const t = res.task;
  const text =
    res.status === 'pending'
      ? `🔁 Task #${id} will be retried${t.run_after ? ` after ${shortTime(t.run_after)}` : ''} (${t.attempts} of ${t.max_attempts} attempts used)`
      : `❌ Task #${id} failed`;
  return { json: res, text };
}

export async function release(ctx: CommandContext, id: number, input: FenceInput & { reason?: string }): Promise<CommandOutput> {
  const fence = fenceFor(ctx.agent, leaseTokenFor(id, input.leaseToken, ctx.env));
  const res = await ctx.client.release(id, fence, input.reason);
  const t = res.task;
  return { json: res, text: `↩️  Task #${id} released back to the queue (its attempt given back: ${t.attempts} of ${t.max_attempts} used)` };
}

/** How often `ask --wait` looks for the answer (each look is a heartbeat, which also keeps the agent seen). */
const ANSWER_POLL_MS = 2000;

/** The holder asks a human; with `wait`, blocks until the answer comes and prints it. */
export async function ask(ctx: CommandContext, id: number, input: FenceInput & { question: string; wait?: boolean }): Promise<CommandOutput> {
  const fence = fenceFor(ctx.agent, leaseTokenFor(id, input.leaseToken, ctx.env));
  const res = await ctx.client.ask(id, fence, input.question);
  if (!input.wait) return { json: res, text: `❓ Task #${id} waits for an answer: ${input.question}` };
  while (!ctx.signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, ANSWER_POLL_MS));
    const beat = await ctx.client.heartbeat(id, fence);
    if (beat.task.status !== 'needs_input') {
      return { json: beat, text: beat.task.answer ?? '' };
    }
  }
  return { json: res, text: `❓ Task #${id} still waits for an answer` };
}
