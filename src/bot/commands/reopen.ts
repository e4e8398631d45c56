// /reopen task_id [reason]: put a completed, cancelled or failed task back in the queue with fresh attempts.
import { assertMayChange } from '../access.js';
import { COLOR, headline } from '../format.js';
import { actor, command, taskIdOption, type SlashCommand } from './command.js';

export const reopenCommand: SlashCommand = {
  usage: '`/reopen task_id [reason]` — put a finished task back in the queue',
  taskIdStatuses: ['completed', 'cancelled', 'failed'],
  data: command('reopen', 'Put a completed, cancelled or failed task back in the queue')
    .addIntegerOption((o) => taskIdOption(o))
    .addStringOption((o) => o.setName('reason').setDescription('Why it is reopened').setMaxLength(2000))
    .toJSON(),
  async execute(ctx, interaction) {
    const id = interaction.options.getInteger('task_id', true);
    await assertMayChange(ctx, interaction, await ctx.queue.get(id), 'reopen');
    const task = await ctx.queue.reopen(id, { by: actor(interaction), reason: interaction.options.getString('reason') });
    return {
      embeds: [{ description: `🔁 Task **#${task.id}** is reopened and back in the queue: ${headline(task.description, 200)}`, color: COLOR.requeued }],
      components: [],
    };
  },
};
