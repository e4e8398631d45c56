// Task id suggestions for the task_id option: matching ids or descriptions among the tasks the command acts on.
import type { AutocompleteInteraction } from 'discord.js';
import { LIMITS } from '../core/limits.js';
import type { Task, TaskStatus } from '../core/types.js';
import type { BotContext } from './context.js';
import { PRIORITY_DOT, headline, truncate } from './format.js';
import { withDeadline } from '../timing.js';

const MAX_CHOICES = 25;
const DEFAULT_STATUSES: TaskStatus[] = ['pending', 'in_progress'];
const STATUS_WORD: Record<TaskStatus, string> = {
  pending: 'pending',
  in_progress: 'in progress',
  needs_input: 'needs input',
  in_review: 'in review',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  blocked: 'blocked',
};

export function choiceFor(task: Task): { name: string; value: number } {
  return { name: truncate(`#${task.id} ${PRIORITY_DOT[task.priority]} ${STATUS_WORD[task.status]} · ${headline(task.description, 80)}`, 100), value: task.id };
}

/** Ids starting with the typed digits ("12" → #12, #120…), else a description search. */
export async function suggestTasks(ctx: BotContext, statuses: TaskStatus[], typed: string): Promise<Array<{ name: string; value: number }>> {
  const text = typed.trim().replace(/^#/, '');
  if (/^\d+$/.test(text)) {
    const page = await ctx.queue.list({ status: statuses, order: 'queue', limit: LIMITS.listLimitMax });
    return page.tasks.filter((t) => String(t.id).startsWith(text)).slice(0, MAX_CHOICES).map(choiceFor);
  }
  const page = await ctx.queue.list({ status: statuses, order: 'queue', limit: MAX_CHOICES, search: text || undefined });
  return page.tasks.map(choiceFor);
}

export async function handleAutocomplete(ctx: BotContext, interaction: AutocompleteInteraction, statuses: TaskStatus[] | undefined): Promise<void> {
  const focused = interaction.options.getFocused(true);
  let choices: Array<{ name: string; value: number }> = [];
  if (focused.name === 'task_id') {
    try {
      // Discord drops answers after 3 s; an empty list beats none.
      choices = await withDeadline(suggestTasks(ctx, statuses ?? DEFAULT_STATUSES, String(focused.value ?? '')), 2000, 'autocomplete took too long');
    } catch (err) {
      ctx.log.warn({ err }, 'autocomplete failed');
    }
  }
  await interaction.respond(choices).catch((err: unknown) => ctx.log.warn({ err }, 'could not answer autocomplete'));
}
