// /comment task_id text: comment on a task; its agent sees it at its next heartbeat.
import { COLOR, headline } from '../format.js';
import { actor, command, taskIdOption, type SlashCommand } from './command.js';
import { LIMITS } from '../../core/limits.js';

export const commentCommand: SlashCommand = {
  usage: '`/comment task_id text` — comment on a task (its agent sees it)',
  requires: 'submit',
  data: command('comment', 'Comment on a task; its agent sees it at its next heartbeat')
    .addIntegerOption((o) => taskIdOption(o))
    .addStringOption((o) => o.setName('text').setDescription('The comment').setRequired(true).setMaxLength(LIMITS.commentMax))
    .toJSON(),
  async execute(ctx, interaction) {
    const id = interaction.options.getInteger('task_id', true);
    const { comment } = await ctx.queue.comment(id, { author: actor(interaction), body: interaction.options.getString('text', true), source: 'discord' });
    return { embeds: [{ description: `💬 Comment added to task **#${id}**: ${headline(comment.body, 200)}`, color: COLOR.info }], components: [] };
  },
};
