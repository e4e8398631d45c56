// Commands that read or steer the queue: check, list, next, status, show, add, cancel, priority.
import { agentSummary, HELD_STATUSES } from '../agent-summary.js';
import { age, columns, priorityText, scheduled, shortTime, statusText, taskRows, taskTitle, truncate } from '../format.js';
import type { ListQuery, NewTaskJson, Priority, TaskJson } from '../../client/types.js';
import { changeLine, readWorkSummary } from '../../core/work-summary.js';
import type { CommandContext, CommandOutput } from './context.js';
import { pauseLine } from './controls.js';
import { UsageError } from '../errors.js';


/** Startup summary for an agent: how much is pending, what comes next, and what this instance holds. */
export async function check(ctx: CommandContext): Promise<CommandOutput> {
  const { agent, style } = ctx;
  const { stats, next, held } = await agentSummary(ctx.client, agent);
  const lines = [`📋 ${stats.pending} task(s) pending`];
  for (const t of next) lines.push(`   ${taskTitle(t, style, ctx.width - 20)}`);
  if (stats.pending > next.length) lines.push(style.dim(`   … and ${stats.pending - next.length} more (athena list)`));
  if (held.length === 0) {
    lines.push(`🔧 ${agent.instanceId} holds no task`);
  } else {
    lines.push(`🔧 ${agent.instanceId} holds ${held.length} task(s):`);
    for (const t of held) lines.push(`   ${heldLine(t, ctx)}`);
  }
  return { json: { pending: stats.pending, instance_id: agent.instanceId, next, held }, text: lines.join('\n') };
}

function heldLine(t: TaskJson, ctx: CommandContext): string {
  const state =
    t.status === 'needs_input' ? ctx.style.yellow(`waiting for an answer: ${truncate(t.question ?? '', 60)}`) : `lease until ${shortTime(t.lease_expires_at)}`;
  return `${taskTitle(t, ctx.style, ctx.width - 40)}  ${ctx.style.dim(`(${state})`)}`;
}

export type ListInput = { status?: string; priority?: string; label?: string; project?: string; search?: string; mine?: boolean; limit?: number; cursor?: string };

export async function list(ctx: CommandContext, input: ListInput): Promise<CommandOutput> {
  const q: ListQuery = {
    status: input.status,
    priority: input.priority,
    label: input.label,
    project: input.project,
    q: input.search,
    limit: input.limit,
    cursor: input.cursor,
    instance_id: input.mine ? ctx.agent.instanceId : undefined,
  };
  if (input.mine && !q.status) q.status = HELD_STATUSES;
  const page = await ctx.client.list(q);
  const what = q.status && q.status !== 'pending' ? q.status.replace(/,/g, ' or ') : 'pending';
  const lines = page.tasks.length === 0 ? [`📭 No ${what} tasks`] : taskRows(page.tasks, ctx.style, ctx.width);
  if (page.next_cursor) lines.push(ctx.style.dim(`… more: add --cursor ${page.next_cursor}`));
  return { json: page, text: lines.join('\n') };
}

/** Peeks at the task a claim would get next (does not claim). */
export async function next(ctx: CommandContext): Promise<CommandOutput> {
  const res = await ctx.client.next(ctx.agent.instanceId);
  return { json: res, text: res.task ? `⏭️  Next: ${taskTitle(res.task, ctx.style, ctx.width - 20)}` : '📭 No pending tasks' };
}

export async function status(ctx: CommandContext): Promise<CommandOutput> {
  const { style } = ctx;
  const [s, paused] = await Promise.all([ctx.client.stats(), ctx.client.pauses().then((r) => r.pauses, () => [])]);
  const states = ['pending', 'in_progress', 'needs_input', 'in_review', 'blocked', 'completed', 'failed', 'cancelled'] as const;
  const lines = ['📊 Queue', ...columns([...states.map((k) => [statusText(k, style), String(s[k] ?? 0)]), [style.bold('total'), String(s.total)]], '   ')];
  if (s.oldest_pending_age_seconds !== null) lines.push(style.dim(`   oldest pending: ${age(new Date(Date.now() - s.oldest_pending_age_seconds * 1000).toISOString())}`));
  if (s.instances.length === 0) {
    lines.push('🤖 No agents seen yet');
  } else {
    lines.push('🤖 Agents');
    const rows = s.instances.map((i) => [
      style.bold(i.name ?? i.id),
      i.status === 'working' ? style.cyan(i.status) : i.status === 'offline' ? style.dim(i.status) : i.status,
      i.current_task_id ? `#${i.current_task_id}` : '',
      style.dim(`seen ${age(i.last_seen)} ago`),
    ]);
    lines.push(...columns(rows, '   '));
  }
  for (const p of paused) lines.push(style.yellow(pauseLine(p)));
  return { json: paused.length > 0 ? { ...s, pauses: paused } : s, text: lines.join('\n') };
}

/** A result from `athena work --repo` as branch and PR lines; any other result as its JSON. */
function workFields(result: unknown): Array<[string, string | null]> {
  const work = readWorkSummary(result);
  if (!work) return [['result', result === null || result === undefined ? null : JSON.stringify(result)]];
  const from = [work.base ? `from ${work.base}` : '', changeLine(work)].filter(Boolean).join(', ');
  return [
    ['branch', work.branch ? `${work.branch}${from ? ` (${from})` : ''}` : null],
    ['head', work.head],
    ['pull request', work.prUrl],
  ];
}

export async function show(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const { style } = ctx;
  const [{ task: t, logs }, { comments }] = await Promise.all([ctx.client.get(id), ctx.client.comments(id)]);
  const holder = t.instance_name ?? t.instance_id;
  const fields: Array<[string, string | null | undefined]> = [
    ['status', `${statusText(t.status, style)}${holder ? ` (${holder})` : ''}`],
    ['priority', priorityText(t.priority, style)],
    ['project', t.project],
    ['assignee', t.assignee],
    ['labels', t.labels.length ? t.labels.join(', ') : null],
    ['depends on', t.depends_on.length ? t.depends_on.map((d) => `#${d}`).join(', ') : null],
    ['attempts', `${t.attempts} of ${t.max_attempts} used`],
    ['submitted', `${shortTime(t.created_at)} (${age(t.created_at)} ago)${t.submitted_by ? ` by ${t.submitted_by}` : ''}`],
    ['schedule', t.schedule_id === null ? null : `#${t.schedule_id} (athena schedule list)`],
    ['claimed', t.claimed_at ? shortTime(t.claimed_at) : null],
    ['lease until', t.lease_expires_at ? shortTime(t.lease_expires_at) : null],
    ['run after', t.run_after ? `${scheduled(t) ? '⏰ ' : ''}${shortTime(t.run_after)}` : null],
    ['finished', t.completed_at ? shortTime(t.completed_at) : null],
    ['blocked', t.blocked_reason],
    ['question', t.question],
    ['answer', t.answer],
    ['review', t.review ? (t.status === 'in_review' ? style.yellow('waiting for a person: athena review ' + t.id + ' --accept | --changes "…"') : 'required') : null],
    ['feedback', t.review_feedback],
    ['notes', t.notes],
    ['error', t.error ? style.red(t.error) : null],
    ...workFields(t.result),
  ];
  const lines = [`${style.bold(`#${t.id}`)}  ${t.description}`];
  lines.push(...columns(fields.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [style.dim(k), String(v).replace(/\n/g, '\n      ')]), '   '));
  if (comments.length > 0) {
    lines.push(style.dim('   comments:'));
    for (const c of comments) lines.push(`     ${style.dim(shortTime(c.created_at))}  ${style.bold(c.author)}: ${c.body.replace(/\n/g, '\n       ')}`);
  }
  if (logs.length > 0) {
    lines.push(style.dim('   log:'));
    lines.push(...columns(logs.map((l) => [style.dim(shortTime(l.timestamp)), l.action, l.instance_id ?? '', truncate(l.details ?? '', 80)]), '     '));
  }
  return { json: { task: t, logs, comments }, text: lines.join('\n') };
}

export async function add(ctx: CommandContext, input: Omit<NewTaskJson, 'submitted_by'>): Promise<CommandOutput> {
  const res = await ctx.client.create({ ...input, submitted_by: ctx.agent.instanceName });
  const t = res.task;
  const text = res.created
    ? `📋 Task #${t.id} added (${priorityText(t.priority, ctx.style)})${t.status === 'blocked' ? ctx.style.dim(' — blocked until its dependencies complete') : ''}`
    : `📋 Task #${t.id} already exists for this idempotency key (${statusText(t.status, ctx.style)})`;
  return { json: res, text };
}

/** A person's decision on a task in in_review: accept it, or send it back with feedback. */
export async function review(ctx: CommandContext, id: number, input: { accept?: boolean; changes?: string }): Promise<CommandOutput> {
  if (Boolean(input.accept) === (input.changes !== undefined)) throw new UsageError('give either --accept or --changes "feedback"');
  const by = ctx.agent.instanceName ?? ctx.agent.instanceId;
  if (input.accept) {
    const res = await ctx.client.review(id, 'accept', { by });
    return { json: res, text: `👍 Task #${id} accepted; it is completed` };
  }
  const res = await ctx.client.review(id, 'changes', { feedback: input.changes, by });
  return { json: res, text: `🔁 Task #${id} sent back with your feedback; ${res.task.preferred_instance_id ?? 'the next agent'} gets it first` };
}

export async function cancel(ctx: CommandContext, id: number, reason?: string): Promise<CommandOutput> {
  const res = await ctx.client.cancel(id, { by: ctx.agent.instanceName, reason });
  return { json: res, text: `🚫 Task #${id} cancelled` };
}

export async function priority(ctx: CommandContext, id: number, level: Priority): Promise<CommandOutput> {
  const res = await ctx.client.setPriority(id, level, ctx.agent.instanceName);
  return { json: res, text: `✅ Task #${id} priority set to ${priorityText(level, ctx.style)}` };
}

/** A human answers the question of a task in needs_input; it returns to its agent. */
export async function answer(ctx: CommandContext, id: number, text: string): Promise<CommandOutput> {
  const res = await ctx.client.answer(id, text, ctx.agent.instanceName ?? ctx.agent.instanceId);
  return { json: res, text: `💬 Task #${id} answered; back with ${res.task.instance_name ?? res.task.instance_id ?? 'its agent'}` };
}
