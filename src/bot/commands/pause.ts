// /pause [scope] [reason] and /resume [scope]: stop and restart handing out work (admin role only).
import { parsePauseScope } from '../../core/queue-controls.js';
import { COLOR } from '../format.js';
import { actor, command, type SlashCommand } from './command.js';

const SCOPE_HELP = '"queue" (the default), "label:<name>" or "project:<name>"';

export const pauseCommand: SlashCommand = {
  usage: '`/pause [scope] [reason]` — stop handing out work (the queue, a label or a project)',
  // Stops every agent: as over REST, only admins may.
  requires: 'admin',
  data: command('pause', 'Stop handing out work until /resume; new tasks are still queued')
    .addStringOption((o) => o.setName('scope').setDescription(SCOPE_HELP).setMaxLength(300))
    .addStringOption((o) => o.setName('reason').setDescription('Why; shown wherever the pause is').setMaxLength(2000))
    .toJSON(),
  async execute(ctx, interaction) {
    const pause = await ctx.queue.pause(parsePauseScope(interaction.options.getString('scope')), actor(interaction), interaction.options.getString('reason'));
    return {
      embeds: [{ description: `⏸️ **${pause.scope}** paused by ${pause.pausedBy}${pause.reason ? `: ${pause.reason}` : ''}. Agents get no work there until \`/resume\`.`, color: COLOR.info }],
      components: [],
    };
  },
};

export const resumeCommand: SlashCommand = {
  usage: '`/resume [scope]` — hand out work again after a pause',
  requires: 'admin',
  data: command('resume', 'Hand out work again after /pause')
    .addStringOption((o) => o.setName('scope').setDescription(SCOPE_HELP).setMaxLength(300))
    .toJSON(),
  async execute(ctx, interaction) {
    const resumed = await ctx.queue.resume(parsePauseScope(interaction.options.getString('scope')), actor(interaction));
    return { embeds: [{ description: `▶️ **${resumed.scope}** resumed by ${actor(interaction)}.`, color: COLOR.info }], components: [] };
  },
};
