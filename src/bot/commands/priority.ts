// /priority task_id level: change a waiting or running task's priority.
import { assertMayChange } from '../access.js';
import { COLOR, PRIORITY_LABEL } from '../format.js';
import { PRIORITY_CHOICES, actor, command, parsePriority, taskIdOption, type SlashCommand } from './command.js';

export const priorityCommand: SlashCommand = {
  usage: '`/priority task_id level` — change a task\'s priority',
  taskIdStatuses: ['pending', 'blocked', 'in_progress', 'needs_input', 'in_review'],
  data: command('priority', "Change a task's priority")
    .addIntegerOption((o) => taskIdOption(o))
    .addStringOption((o) => o.setName('level').setDescription('New priority').setRequired(true).addChoices(...PRIORITY_CHOICES))
    .toJSON(),
  async execute(ctx, interaction) {
    const id = interaction.options.getInteger('task_id', true);
    const level = parsePriority(interaction.options.getString('level', true), 'medium');
    await assertMayChange(ctx, interaction, await ctx.queue.get(id), 'change the priority of');
    const task = await ctx.queue.setPriority(id, level, actor(interaction));
    return {
      embeds: [{ description: `Priority of task **#${task.id}** is now ${PRIORITY_LABEL[task.priority]}.`, color: COLOR.info }],
      components: [],
    };
  },
};
