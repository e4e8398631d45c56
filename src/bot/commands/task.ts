// /task description [priority] [labels] [project] [assignee] [start] [depends_on]: queue a task; the
// reply is the "📋 Task Queued" embed (and its thread).
import type { Message } from 'discord.js';
import type { Task } from '../../core/types.js';
import type { BotContext } from '../context.js';
import { discordSubmitter } from '../format.js';
import { queuedMessage, threadName } from '../messages.js';
import { PRIORITY_CHOICES, command, parsePriority, type SlashCommand } from './command.js';
import { readTaskOptions, withTaskOptions } from './task-options.js';

async function startTaskThread(ctx: BotContext, message: Message, task: Task): Promise<void> {
  // Threads start from messages in text or announcement channels, not from messages inside threads.
  if (!message.channel || message.channel.isThread() || message.channel.isDMBased()) return;
  ctx.threads.remember(task.id, await message.startThread({ name: threadName(task) }));
}

export const taskCommand: SlashCommand = {
  usage: '`/task description [priority] [labels] [project] [assignee] [start] [depends_on] [review]` — queue a task for the agents (review: accept the work before it counts as completed)',
  requires: 'submit',
  data: withTaskOptions(
    command('task', 'Queue a task for the agents')
      .addStringOption((o) => o.setName('description').setDescription('What should be done').setRequired(true).setMaxLength(4000))
      .addStringOption((o) => o.setName('priority').setDescription('Priority (default Medium)').addChoices(...PRIORITY_CHOICES)),
    false,
  )
    .addBooleanOption((o) => o.setName('review').setDescription('Wait for a person to accept the work before it counts as completed'))
    .toJSON(),
  async execute(ctx, interaction) {
    const options = readTaskOptions(interaction, ctx.queue.now(), ctx.config.TZ ?? 'UTC', false);
    // The submitter's user id is kept with the task, in the create's transaction: it decides who may
    // change the task from Discord.
    const { task, warnings } = await ctx.queue.create({
      description: interaction.options.getString('description', true),
      priority: parsePriority(interaction.options.getString('priority'), 'medium'),
      submittedBy: discordSubmitter(interaction.user.username),
      labels: options.labels,
      project: options.project ?? null,
      assignee: options.assignee ?? null,
      runAfter: options.runAfter ?? null,
      dependsOn: options.dependsOn,
      discordUserId: interaction.user.id,
      review: interaction.options.getBoolean('review'),
    });
    const reply = queuedMessage(task);
    const warned = warnings.length > 0 ? { content: warnings.map((w) => `⚠️ ${w}`).join('\n') } : {};
    return { ...reply, ...warned, after: ctx.config.DISCORD_THREADS ? (message) => startTaskThread(ctx, message, task) : undefined };
  },
};
