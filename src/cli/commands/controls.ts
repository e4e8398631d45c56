// Commands that pause and resume the queue and set concurrency limits (admin keys only; the server refuses others).
import type { PauseJson } from '../../client/types.js';
import { columns } from '../format.js';
import type { CommandContext, CommandOutput } from './context.js';

export function pauseLine(p: PauseJson): string {
  return `⏸️  ${p.scope} paused${p.paused_by ? ` by ${p.paused_by}` : ''}${p.reason ? `: ${p.reason}` : ''}`;
}

export async function pause(ctx: CommandContext, scope: string | undefined, reason: string | undefined): Promise<CommandOutput> {
  const res = await ctx.client.pause({ scope, reason, by: ctx.agent.instanceName ?? ctx.agent.instanceId });
  return { json: res, text: `${pauseLine(res.pause)}\n   claims hand out nothing there until \`athena resume${scope ? ` ${scope}` : ''}\`` };
}

export async function resume(ctx: CommandContext, scope: string | undefined): Promise<CommandOutput> {
  const res = await ctx.client.resume({ scope, by: ctx.agent.instanceName ?? ctx.agent.instanceId });
  return { json: res, text: `▶️  ${res.resumed.scope} resumed` };
}

export async function limits(ctx: CommandContext): Promise<CommandOutput> {
  const res = await ctx.client.limits();
  if (res.limits.length === 0) return { json: res, text: 'No concurrency limits (set one: athena limits set label:db 2)' };
  const rows = res.limits.map((l) => [ctx.style.bold(l.scope), `${l.held} of ${l.max} held`, ctx.style.dim(l.set_by ? `set by ${l.set_by}` : '')]);
  return { json: res, text: ['🚦 Concurrency limits', ...columns(rows, '   ')].join('\n') };
}

export async function setLimit(ctx: CommandContext, scope: string, max: number): Promise<CommandOutput> {
  const res = await ctx.client.setLimit(scope, max, ctx.agent.instanceName ?? ctx.agent.instanceId);
  return { json: res, text: `🚦 ${res.limit.scope}: at most ${res.limit.max} at once (${res.limit.held} held now)` };
}

export async function removeLimit(ctx: CommandContext, scope: string): Promise<CommandOutput> {
  const res = await ctx.client.removeLimit(scope);
  return { json: res, text: `🚦 ${scope}: no limit` };
}
