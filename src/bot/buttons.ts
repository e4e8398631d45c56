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
      await assertMayChange(ctx, interaction, task, 'cancel');
      await ctx.queue.cancel(id, { user: by });
      return note(`🛑 Task #${id} cancelled.`);
    case 'raise': {
      await assertMayChange(ctx, interaction, task, 'change the priority of');
      const next = raisedPriority(task.priority);
      if (!next) throw new ConflictError('CONFLICT', `Task #${id} already has the highest priority`, { taskId: id });
      const updated = await ctx.queue.setPriority(id, next, by);
      return note(`⬆️ Task #${id} is now ${PRIORITY_LABEL[updated.priority]}.`);
    }
    case 'retry':
      await assertMayChange(ctx, interaction, task, 'retry');
      await ctx.queue.retry(id, by);
      return note(`🔁 Task #${id} is back in the queue.`);
  }
}

/** Every custom_id on a message's components (rows, and whatever they hold). */
function customIdsOf(components: unknown): string[] {
  if (!Array.isArray(components)) return [];
  return components.flatMap((c: { custom_id?: unknown; components?: unknown; accessory?: unknown }) => [
    ...(typeof c?.custom_id === 'string' ? [c.custom_id] : []),
    ...customIdsOf(c?.components),
    ...(c?.accessory ? customIdsOf([c.accessory]) : []),
  ]);
}

/**
 * Whether the click is on a button the bot itself put on this very message. A task button acts on
 * the task its message is about; a custom_id that is not on the message (a forged interaction
 * naming another task) acts on nothing.
 */
export function buttonIsOnItsMessage(interaction: ButtonInteraction): boolean {
  const message = interaction.message;
  if (message.author?.id !== interaction.client.user.id) return false;
  const ids = customIdsOf(message.components.map((c) => c.toJSON()));
  return ids.includes(interaction.customId);
}

export async function handleButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const action = parseCustomId(interaction.customId);
  const refuse = (content: string) =>
    interaction.reply({ content, flags: MessageFlags.Ephemeral }).catch((err: unknown) => ctx.log.warn({ err }, 'could not answer a button'));
  if (!action) {
    await refuse('❌ This button is no longer supported; use the slash commands instead.');
    return;
  }
  if (!buttonIsOnItsMessage(interaction)) {
    ctx.log.warn({ customId: interaction.customId, message: interaction.message.id, user: interaction.user.id }, 'refused a button that is not on its message');
    await refuse('⛔ This button does not belong to this message.');
    return;
  }
  if (action.kind === 'queue') {
    await respond(interaction, () => queuePage(ctx, action.page), { log: ctx.log, mode: 'update' });
    return;
  }
  await respond(interaction, () => changeTask(ctx, interaction, action), { log: ctx.log, mode: 'reply', deferEphemeral: true });
}
