// `athena work --dry-run`: the exact command, working directory and branch the worker would use for the
// next task (or --task ID), without claiming it or creating anything.
import type { CommandFor } from './agent-command.js';
import type { CommandContext, CommandOutput } from './commands/context.js';
import { UsageError } from './errors.js';
import type { TaskJson } from '../client/types.js';
import { planWorkspace, type Repository } from './workspace.js';

export type DryRunInput = { taskId?: number; exec?: string; commandFor?: CommandFor; repository?: Repository };

/** Quotes one argument for a POSIX shell, so the printed line can be pasted as it is. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export async function dryRun(ctx: CommandContext, input: DryRunInput): Promise<CommandOutput> {
  const found: TaskJson | null = input.taskId !== undefined ? (await ctx.client.get(input.taskId)).task : (await ctx.client.next(ctx.agent.instanceId)).task;
  if (!found) return { json: { task_id: null }, text: 'No task to run: nothing is pending' };
  // A claim counts the attempt before the command starts.
  const task = found.status === 'pending' || found.status === 'blocked' ? { ...found, attempts: found.attempts + 1 } : found;
  const ws = input.repository ? await planWorkspace(input.repository, task.id) : null;
  if (!input.commandFor && !input.exec) throw new UsageError('--exec or --agent is needed');
  const planned = input.commandFor ? input.commandFor(task, ws) : { command: input.exec!, stdin: `${JSON.stringify(task)}\n`, env: {} };
  const line = typeof planned.command === 'string' ? planned.command : planned.command.map(shellQuote).join(' ');
  const where = ws
    ? `# runs in ${ws.path} on branch ${ws.branch} (${ws.continued ? 'continuing the branch of an earlier attempt' : `new, from ${ws.base}`})`
    : `# runs in ${process.cwd()}`;
  const text = [`# task #${task.id}, attempt ${task.attempts} of ${task.max_attempts}`, where, `# stdin: ${planned.stdin ? 'the task as JSON' : 'empty'}`, line].join('\n');
  return {
    json: {
      task_id: task.id,
      command: planned.command,
      shell: typeof planned.command === 'string',
      cwd: ws?.path ?? process.cwd(),
      branch: ws?.branch ?? null,
      base: ws?.base ?? null,
      env: planned.env,
      stdin: planned.stdin,
    },
    text,
  };
}
