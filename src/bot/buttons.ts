// Button clicks: Cancel / Raise priority / Retry on task messages, ◀ ▶ on /queue pages.
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { ConflictError } from '../errors.js';
import { assertMayChange } from './access.js';
import { actor } from './commands/command.js';
import { queuePage } from './commands/queue.js';
import type { BotContext } from './context.js';
import { parseCustomId, raisedPriority, type ButtonAction } from './custom-ids.js';
import { PRIORITY_LABEL } from './format.js';
import { respond, type Reply } from './respond.js';

const note = (content: string): Reply => ({ content, embeds: [], components: [], ephemeral: true });

async function changeTask(ctx: BotContext, interaction: ButtonInteraction, action: Extract<ButtonAction, { taskId: number }>): Promise<Reply> {
  const id = action.taskId;
  const task = await ctx.queue.get(id);
  const by = actor(interaction);
  switch (action.kind) {
    case 'cancel':
      assertMayChange(ctx, interaction, task, 'cancel');
      await ctx.queue.cancel(id, { user: by });
      return note(`🛑 Task #${id} cancelled.`);
    case 'raise': {
      assertMayChange(ctx, interaction, task, 'change the priority of');
      const next = raisedPriority(task.priority);
      if (!next) throw new ConflictError('CONFLICT', `Task #${id} already has the highest priority`, { taskId: id });
      const updated = await ctx.queue.setPriority(id, next, by);
      return note(`⬆️ Task #${id} is now ${PRIORITY_LABEL[updated.priority]}.`);
    }
    case 'retry':
      assertMayChange(ctx, interaction, task, 'retry');
      await ctx.queue.retry(id, by);
      return note(`🔁 Task #${id} is back in the queue.`);
  }
}

export async function handleButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const action = parseCustomId(interaction.customId);
  if (!action) {
    await interaction
      .reply({ content: '❌ This button is no longer supported; use the slash commands instead.', flags: MessageFlags.Ephemeral })
      .catch((err: unknown) => ctx.log.warn({ err }, 'could not answer a button'));
    return;
  }
  if (action.kind === 'queue') {
    await respond(interaction, () => queuePage(ctx, action.page), { log: ctx.log, mode: 'update' });
    return;
  }
  await respond(interaction, () => changeTask(ctx, interaction, action), { log: ctx.log, mode: 'reply', deferEphemeral: true });
}
