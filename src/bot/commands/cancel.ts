// /cancel task_id [reason]: cancel a task that has not finished.
import { assertMayChange } from '../access.js';
import { COLOR, headline } from '../format.js';
import { actor, command, taskIdOption, type SlashCommand } from './command.js';

export const cancelCommand: SlashCommand = {
  usage: '`/cancel task_id [reason]` — cancel a task that has not finished',
  taskIdStatuses: ['pending', 'blocked', 'in_progress', 'needs_input', 'in_review'],
  data: command('cancel', 'Cancel a task that has not finished')
    .addIntegerOption((o) => taskIdOption(o))
    .addStringOption((o) => o.setName('reason').setDescription('Why (kept in the task log)').setMaxLength(500))
    .toJSON(),
  async execute(ctx, interaction) {
    const id = interaction.options.getInteger('task_id', true);
    await assertMayChange(ctx, interaction, await ctx.queue.get(id), 'cancel');
    const task = await ctx.queue.cancel(id, { user: actor(interaction), reason: interaction.options.getString('reason') });
    return {
      embeds: [{ description: `🛑 Cancelled task **#${task.id}**: ${headline(task.description, 200)}`, color: COLOR.cancelled }],
      components: [],
    };
  },
};
