// /done [limit]: recently completed tasks, who did them, and their notes.
import { COLOR, agentName, headline, relativeTime, truncate } from '../format.js';
import { command, type SlashCommand } from './command.js';

const DEFAULT_LIMIT = 5;
const MAX_LIMIT = 25;

export const doneCommand: SlashCommand = {
  usage: '`/done [limit]` — recently completed tasks with who did them and their notes',
  data: command('done', 'Recently completed tasks')
    .addIntegerOption((o) => o.setName('limit').setDescription(`How many (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`).setMinValue(1).setMaxValue(MAX_LIMIT))
    .toJSON(),
  async execute(ctx, interaction) {
    const limit = Math.min(MAX_LIMIT, Math.max(1, interaction.options.getInteger('limit') ?? DEFAULT_LIMIT));
    // Newest by id first; re-sorted by completion time, which is what "recent" means here.
    const page = await ctx.queue.list({ status: ['completed'], order: 'newest', limit: Math.max(100, limit) });
    const tasks = page.tasks.sort((a, b) => (b.completedAt ?? 0) - (a.completedAt ?? 0)).slice(0, limit);
    // An embed holds 4096 characters: the per-task share shrinks as the list grows.
    const share = Math.floor(3900 / Math.max(1, tasks.length));
    const lines = tasks.map((t) => {
      const head = `**#${t.id}** ${headline(t.description, 70)} — ${agentName(t)} · ${relativeTime(t.completedAt)}`;
      return truncate(t.notes ? `${head}\n> ${truncate(t.notes.replace(/\s+/g, ' '), 200)}` : head, share);
    });
    return {
      embeds: [
        {
          title: `✅ Recently completed (${tasks.length})`,
          description: lines.length > 0 ? lines.join('\n') : 'No task has been completed yet.',
          color: COLOR.completed,
        },
      ],
      components: [],
    };
  },
};
