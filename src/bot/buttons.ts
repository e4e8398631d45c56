// Button clicks: Cancel / Raise priority / Retry / Accept / Request changes on task messages, ◀ ▶ on
// /queue pages; and the feedback form "Request changes" opens.
import {
  ActionRowBuilder,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { LIMITS } from '../core/limits.js';
import { ConflictError } from '../errors.js';
import { assertMayChange } from './access.js';
import { actor } from './commands/command.js';
import { queuePage } from './commands/queue.js';
import type { BotContext } from './context.js';
import { customId, feedbackModalId, parseCustomId, parseFeedbackModalId, raisedPriority, type ButtonAction } from './custom-ids.js';
import { PRIORITY_LABEL } from './format.js';
import { errorText, respond, type Reply } from './respond.js';

/** The text input of the feedback form. */
const FEEDBACK_FIELD = 'feedback';

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
    case 'accept':
      await assertMayChange(ctx, interaction, task, 'review');
      await ctx.queue.review(id, { decision: 'accept', by });
      return note(`👍 Task #${id} accepted; it is completed.`);
    case 'changes':
      // Opened by showFeedbackForm; a click never gets here.
      return note('✏️ Use the form to say what to change.');
  }
}

/** "Request changes": checks who may, then opens a form for the feedback (a modal must be the first answer). */
async function showFeedbackForm(ctx: BotContext, interaction: ButtonInteraction, taskId: number): Promise<void> {
  try {
    const task = await ctx.queue.get(taskId);
    await assertMayChange(ctx, interaction, task, 'review');
    if (task.status !== 'in_review') throw new ConflictError('CONFLICT', `Cannot request changes on task #${taskId}: it is ${task.status}`, { taskId });
  } catch (err) {
    await interaction.reply({ content: errorText(err, ctx.log), flags: MessageFlags.Ephemeral }).catch((e: unknown) => ctx.log.warn({ err: e }, 'could not answer a button'));
    return;
  }
  const input = new TextInputBuilder()
    .setCustomId(FEEDBACK_FIELD)
    .setLabel('What should change?')
    .setStyle(TextInputStyle.Paragraph)
    .setRequired(true)
    .setMaxLength(Math.min(4000, LIMITS.notesMax));
  const form = new ModalBuilder()
    .setCustomId(feedbackModalId(taskId))
    .setTitle(`Request changes on task #${taskId}`)
    .addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(input));
  await interaction.showModal(form).catch((err: unknown) => ctx.log.warn({ err }, 'could not open the feedback form'));
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
  return messageHasButton(interaction, interaction.customId);
}

function messageHasButton(interaction: ButtonInteraction | ModalSubmitInteraction, id: string): boolean {
  const message = interaction.message;
  if (!message || message.author?.id !== interaction.client.user.id) return false;
  return customIdsOf(message.components.map((c) => c.toJSON())).includes(id);
}

/**
 * The feedback form's submission. It is bound to the message its "Request changes" button was on, as
 * a click is: a form naming another task than that message's acts on nothing.
 */
export async function handleModalSubmit(ctx: BotContext, interaction: ModalSubmitInteraction): Promise<void> {
  const taskId = parseFeedbackModalId(interaction.customId);
  if (taskId === null || !messageHasButton(interaction, customId({ kind: 'changes', taskId }))) {
    ctx.log.warn({ customId: interaction.customId, user: interaction.user.id }, 'refused a form that does not belong to a message of ours');
    await interaction.reply({ content: '⛔ This form does not belong to this message.', flags: MessageFlags.Ephemeral }).catch(() => {});
    return;
  }
  await respond(
    interaction,
    async () => {
      const task = await ctx.queue.get(taskId);
      await assertMayChange(ctx, interaction, task, 'review');
      const feedback = interaction.fields.getTextInputValue(FEEDBACK_FIELD);
      const changed = await ctx.queue.review(taskId, { decision: 'changes', feedback, by: actor(interaction) });
      const agent = changed.preferredInstanceId ? ` ${changed.preferredInstanceId} gets it first.` : '';
      return note(`✏️ Task #${taskId} is back in the queue with your feedback.${agent}`);
    },
    { log: ctx.log, mode: 'reply', deferEphemeral: true },
  );
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
  if (action.kind === 'changes') {
    await showFeedbackForm(ctx, interaction, action.taskId);
    return;
  }
  await respond(interaction, () => changeTask(ctx, interaction, action), { log: ctx.log, mode: 'reply', deferEphemeral: true });
}
