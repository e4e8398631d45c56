// athena schedule: add, list, pause, resume, rm and run schedules (recurring tasks; admin keys for writes).
import type { NewScheduleJson, ScheduleJson } from '../../client/types.js';
import { columns, shortTime } from '../format.js';
import type { CommandContext, CommandOutput } from './context.js';

function nextText(s: ScheduleJson): string {
  if (s.paused) return 'paused';
  return s.next_run_at ? `next ${shortTime(s.next_run_at)}` : 'ended';
}

export async function add(ctx: CommandContext, input: NewScheduleJson): Promise<CommandOutput> {
  const { schedule: s } = await ctx.client.addSchedule(input);
  const upcoming = s.next_runs.slice(0, 3).map((at) => shortTime(at)).join(', ');
  return {
    json: { schedule: s },
    text: `🔁 Schedule #${s.id} added: "${s.cron}" (${s.time_zone})${upcoming ? `\n   next runs: ${upcoming}` : ctx.style.dim('\n   no run ahead (it ends before its next time)')}`,
  };
}

export async function list(ctx: CommandContext): Promise<CommandOutput> {
  const res = await ctx.client.schedules();
  if (res.schedules.length === 0) return { json: res, text: 'No schedules (add one: athena schedule add "0 9 * * 1-5" "Update dependencies")' };
  const rows = res.schedules.map((s) => [
    ctx.style.bold(`#${s.id}`),
    `${s.cron} ${ctx.style.dim(s.time_zone)}`,
    s.paused ? ctx.style.yellow(nextText(s)) : nextText(s),
    s.description.split('\n')[0]!.slice(0, 60),
    ctx.style.dim([s.labels.length ? s.labels.join(',') : '', s.project ?? '', s.missed === 'once' ? 'missed: once' : '', s.overlap ? 'overlap' : ''].filter(Boolean).join(' · ')),
  ]);
  return { json: res, text: ['🔁 Schedules', ...columns(rows, '   ')].join('\n') };
}

export async function pause(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const res = await ctx.client.pauseSchedule(id);
  return { json: res, text: `⏸️  Schedule #${id} paused` };
}

export async function resume(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const res = await ctx.client.resumeSchedule(id);
  return { json: res, text: `▶️  Schedule #${id} resumed (${nextText(res.schedule)})` };
}

export async function remove(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const res = await ctx.client.removeSchedule(id);
  return { json: res, text: `🗑️  Schedule #${id} removed (the tasks it created stay)` };
}

export async function runNow(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const res = await ctx.client.runSchedule(id);
  return { json: res, text: `📋 Task #${res.task.id} added from schedule #${id}` };
}
