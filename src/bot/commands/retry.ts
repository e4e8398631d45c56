// /retry task_id: put a failed task back in the queue with fresh attempts.
import { assertMayChange } from '../access.js';
import { COLOR, headline } from '../format.js';
import { actor, command, taskIdOption, type SlashCommand } from './command.js';

export const retryCommand: SlashCommand = {
  usage: '`/retry task_id` — put a failed task back in the queue',
  taskIdStatuses: ['failed'],
  data: command('retry', 'Put a failed task back in the queue').addIntegerOption((o) => taskIdOption(o)).toJSON(),
  async execute(ctx, interaction) {
    const id = interaction.options.getInteger('task_id', true);
    await assertMayChange(ctx, interaction, await ctx.queue.get(id), 'retry');
    const task = await ctx.queue.retry(id, actor(interaction));
    return {
      embeds: [{ description: `🔁 Task **#${task.id}** is back in the queue: ${headline(task.description, 200)}`, color: COLOR.requeued }],
      components: [],
    };
  },
};
