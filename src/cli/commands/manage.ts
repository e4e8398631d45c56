// Commands that manage tasks: edit, delete, reopen, retry, comment, depends, bulk actions, export/import.
import { readFile, writeFile } from 'node:fs/promises';
import { parseStartTime } from '../../core/start-time.js';
import type { BulkFilterJson, TaskEditJson } from '../../client/types.js';
import { UsageError } from '../errors.js';
import { statusText, truncate } from '../format.js';
import type { CommandContext, CommandOutput } from './context.js';

/** "none" clears a field (assignee, project, start time). */
const cleared = (value: string | undefined): string | null | undefined => (value === undefined ? undefined : value.trim().toLowerCase() === 'none' ? null : value);

/** A start time as typed ("in 2h", "tomorrow 9:00" in TZ, ISO 8601) as the ISO 8601 the API takes. */
export function startTimeIso(text: string, now = Date.now()): string {
  try {
    return new Date(parseStartTime(text, now, process.env.TZ || Intl.DateTimeFormat().resolvedOptions().timeZone)).toISOString();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export type EditInput = Omit<TaskEditJson, 'run_after' | 'assignee' | 'project' | 'by'> & { runAfter?: string; assignee?: string; project?: string };

export async function edit(ctx: CommandContext, id: number, input: EditInput): Promise<CommandOutput> {
  const runAfter = cleared(input.runAfter);
  const { runAfter: _r, assignee, project, ...rest } = input;
  const fields: TaskEditJson = {
    ...rest,
    assignee: cleared(assignee),
    project: cleared(project),
    run_after: runAfter === undefined || runAfter === null ? runAfter : startTimeIso(runAfter),
    by: ctx.agent.instanceName,
  };
  const sent = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as TaskEditJson;
  if (Object.keys(sent).length <= 1) throw new UsageError('nothing to change: give at least one of --description, --priority, --labels, --project, --notes, --max-attempts, --run-after, --assignee, --depends-on');
  const res = await ctx.client.edit(id, sent);
  const lines = res.changes.length === 0 ? [`✏️  Task #${id}: nothing changed`] : [`✏️  Task #${id} edited`];
  for (const c of res.changes) lines.push(`   ${c.field}: ${truncate(String(c.old ?? 'none'), 40)} → ${truncate(String(c.new ?? 'none'), 40)}`);
  for (const w of res.warnings) lines.push(ctx.style.yellow(`   ⚠️  ${w}`));
  return { json: res, text: lines.join('\n') };
}

export async function remove(ctx: CommandContext, id: number, force?: boolean): Promise<CommandOutput> {
  const res = await ctx.client.remove(id, { force, by: ctx.agent.instanceName });
  return { json: res, text: `🗑️  Task #${id} deleted` };
}

export async function reopen(ctx: CommandContext, id: number, reason?: string): Promise<CommandOutput> {
  const res = await ctx.client.reopen(id, { reason, by: ctx.agent.instanceName });
  return { json: res, text: `🔁 Task #${id} reopened (${statusText(res.status, ctx.style)})` };
}

export async function retry(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const res = await ctx.client.retry(id, ctx.agent.instanceName);
  return { json: res, text: `🔁 Task #${id} retried (${statusText(res.status, ctx.style)})` };
}

export async function comment(ctx: CommandContext, id: number, body: string): Promise<CommandOutput> {
  const res = await ctx.client.comment(id, body, { by: ctx.agent.instanceName, source: 'cli' });
  return { json: res, text: `💬 Comment #${res.comment.id} on task #${id} by ${res.comment.author}` };
}

export async function depends(ctx: CommandContext, id: number, ids: number[]): Promise<CommandOutput> {
  const res = await ctx.client.addDependencies(id, ids);
  return { json: res, text: `🔗 Task #${id} now depends on ${res.task.depends_on.map((d) => `#${d}`).join(', ')} (${statusText(res.status, ctx.style)})` };
}

export async function retryFailed(ctx: CommandContext, filter: BulkFilterJson): Promise<CommandOutput> {
  const res = await ctx.client.retryFailed(filter);
  return { json: res, text: `🔁 ${res.count} failed task(s) retried` };
}

export async function cancelPending(ctx: CommandContext, filter: BulkFilterJson): Promise<CommandOutput> {
  const res = await ctx.client.cancelPending({ ...filter, by: ctx.agent.instanceName });
  return { json: res, text: `🚫 ${res.count} pending task(s) cancelled` };
}

export async function purge(ctx: CommandContext, olderThanDays: number): Promise<CommandOutput> {
  const res = await ctx.client.purge(olderThanDays);
  return { json: res, text: `🧹 ${res.count} finished task(s) older than ${olderThanDays} day(s) deleted` };
}

/** Writes the export to `file` (private: it holds lease tokens), or prints it. */
export async function exportQueue(ctx: CommandContext, file?: string): Promise<CommandOutput> {
  const data = (await ctx.client.exportAll()) as { tasks?: unknown[] };
  if (!file) return { json: data, text: JSON.stringify(data, null, 2) };
  await writeFile(file, `${JSON.stringify(data)}\n`, { mode: 0o600 });
  return { json: { file, tasks: data.tasks?.length ?? 0 }, text: `📦 ${data.tasks?.length ?? 0} task(s) exported to ${file}` };
}

export async function importQueue(ctx: CommandContext, file: string): Promise<CommandOutput> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const res = await ctx.client.importAll(data);
  const schedules = res.schedules ? `, ${res.schedules} schedule(s)` : '';
  return { json: res, text: `📦 ${res.tasks} task(s)${schedules} and ${res.logs} log row(s) imported` };
}
