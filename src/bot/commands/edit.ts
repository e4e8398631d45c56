// /edit task_id [description] [priority] [labels] [project] [assignee] [start] [depends_on]: change a task that has not finished.
import { assertMayChange } from '../access.js';
import { COLOR } from '../format.js';
import { PRIORITY_CHOICES, actor, command, parsePriority, taskIdOption, type SlashCommand } from './command.js';
import { readTaskOptions, withTaskOptions } from './task-options.js';

const shown = (v: unknown) => (v === null || v === undefined || (Array.isArray(v) && v.length === 0) ? 'none' : Array.isArray(v) ? v.join(', ') : String(v).slice(0, 200));

export const editCommand: SlashCommand = {
  usage: '`/edit task_id [description] [priority] [labels] [project] [assignee] [start] [depends_on]` — change a task that has not finished',
  taskIdStatuses: ['pending', 'blocked', 'in_progress', 'needs_input'],
  data: withTaskOptions(
    command('edit', 'Change a task that has not finished')
      .addIntegerOption((o) => taskIdOption(o))
      .addStringOption((o) => o.setName('description').setDescription('New description').setMaxLength(4000))
      .addStringOption((o) => o.setName('priority').setDescription('New priority').addChoices(...PRIORITY_CHOICES)),
    true,
  ).toJSON(),
  async execute(ctx, interaction) {
    const id = interaction.options.getInteger('task_id', true);
    const options = readTaskOptions(interaction, ctx.queue.now(), ctx.config.TZ ?? 'UTC', true);
    const priority = interaction.options.getString('priority');
    await assertMayChange(ctx, interaction, await ctx.queue.get(id), 'edit');
    const { task, changes, warnings } = await ctx.queue.edit(id, {
      description: interaction.options.getString('description') ?? undefined,
      priority: priority === null ? undefined : parsePriority(priority, 'medium'),
      ...options,
      by: actor(interaction),
    });
    const lines = changes.map((c) => `**${c.field}**: ${shown(c.old)} → ${shown(c.new)}`);
    return {
      embeds: [
        {
          description: changes.length === 0 ? `Task **#${task.id}**: nothing changed.` : `✏️ Task **#${task.id}** edited\n${lines.join('\n')}`,
          color: COLOR.info,
        },
      ],
      components: [],
      ...(warnings.length > 0 ? { content: warnings.map((w) => `⚠️ ${w}`).join('\n') } : {}),
    };
  },
};
