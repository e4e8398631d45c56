// /task description [priority]: queue a task; the reply is the "📋 Task Queued" embed (and its thread).
import type { Message } from 'discord.js';
import type { Task } from '../../core/types.js';
import type { BotContext } from '../context.js';
import { discordSubmitter } from '../format.js';
import { queuedMessage, threadName } from '../messages.js';
import { PRIORITY_CHOICES, command, parsePriority, type SlashCommand } from './command.js';

async function startTaskThread(ctx: BotContext, message: Message, task: Task): Promise<void> {
  // Threads start from messages in text or announcement channels, not from messages inside threads.
  if (!message.channel || message.channel.isThread() || message.channel.isDMBased()) return;
  ctx.threads.remember(task.id, await message.startThread({ name: threadName(task) }));
}

export const taskCommand: SlashCommand = {
  usage: '`/task description [priority] [review]` — queue a task for the agents (review: accept the work before it counts as completed)',
  requires: 'submit',
  data: command('task', 'Queue a task for the agents')
    .addStringOption((o) => o.setName('description').setDescription('What should be done').setRequired(true).setMaxLength(4000))
    .addStringOption((o) => o.setName('priority').setDescription('Priority (default Medium)').addChoices(...PRIORITY_CHOICES))
    .addBooleanOption((o) => o.setName('review').setDescription('Wait for a person to accept the work before it counts as completed'))
    .toJSON(),
  async execute(ctx, interaction) {
    const { task } = await ctx.queue.create({
      description: interaction.options.getString('description', true),
      priority: parsePriority(interaction.options.getString('priority'), 'medium'),
      submittedBy: discordSubmitter(interaction.user.username),
      review: interaction.options.getBoolean('review'),
    });
    // Ownership is the user id, recorded right after: a crash in between leaves the task without an
    // owner, so only the admin role can change it (the check fails closed).
    await ctx.submitters.record(task.id, interaction.user.id, ctx.queue.now()).catch((err: unknown) => ctx.log.warn({ err, taskId: task.id }, 'could not record who queued the task'));
    return { ...queuedMessage(task), after: ctx.config.DISCORD_THREADS ? (message) => startTaskThread(ctx, message, task) : undefined };
  },
};
