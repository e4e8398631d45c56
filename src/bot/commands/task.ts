// /task description [priority]: queue a task; the reply is the "📋 Task Queued" embed (and its thread).
import type { Message } from 'discord.js';
import type { Task } from '../../core/types.js';
import { submitterOf } from '../access.js';
import type { BotContext } from '../context.js';
import { queuedMessage, threadName } from '../messages.js';
import { PRIORITY_CHOICES, command, parsePriority, type SlashCommand } from './command.js';

async function startTaskThread(ctx: BotContext, message: Message, task: Task): Promise<void> {
  // Threads start from messages in text or announcement channels, not from messages inside threads.
  if (!message.channel || message.channel.isThread() || message.channel.isDMBased()) return;
  ctx.threads.remember(task.id, await message.startThread({ name: threadName(task) }));
}

export const taskCommand: SlashCommand = {
  usage: '`/task description [priority]` — queue a task for the agents',
  data: command('task', 'Queue a task for the agents')
    .addStringOption((o) => o.setName('description').setDescription('What should be done').setRequired(true).setMaxLength(4000))
    .addStringOption((o) => o.setName('priority').setDescription('Priority (default Medium)').addChoices(...PRIORITY_CHOICES))
    .toJSON(),
  async execute(ctx, interaction) {
    const { task } = await ctx.queue.create({
      description: interaction.options.getString('description', true),
      priority: parsePriority(interaction.options.getString('priority'), 'medium'),
      submittedBy: submitterOf(interaction),
    });
    return { ...queuedMessage(task), after: ctx.config.DISCORD_THREADS ? (message) => startTaskThread(ctx, message, task) : undefined };
  },
};
