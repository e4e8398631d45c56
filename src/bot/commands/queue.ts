// /queue: pending tasks in the order agents get them, ten per page, with ◀ ▶ buttons.
import { ButtonStyle, ComponentType } from 'discord.js';
import { LIMITS } from '../../core/limits.js';
import type { Task } from '../../core/types.js';
import type { BotContext } from '../context.js';
import { customId } from '../custom-ids.js';
import { COLOR, taskLine } from '../format.js';
import type { Reply } from '../respond.js';
import { command, type SlashCommand } from './command.js';

export const QUEUE_PAGE_SIZE = 10;

/** The pending tasks of one page, walking the queue in chunks (pages are rendered on demand). */
async function pendingSlice(ctx: BotContext, offset: number, size: number): Promise<Task[]> {
  const tasks: Task[] = [];
  let cursor: string | undefined;
  while (tasks.length < offset + size) {
    const page = await ctx.queue.list({ status: ['pending'], order: 'queue', limit: LIMITS.listLimitMax, cursor });
    tasks.push(...page.tasks);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return tasks.slice(offset, offset + size);
}

export async function queuePage(ctx: BotContext, requested: number): Promise<Reply> {
  const stats = await ctx.queue.stats();
  const total = stats.byStatus.pending;
  const pages = Math.max(1, Math.ceil(total / QUEUE_PAGE_SIZE));
  const page = Math.min(Math.max(0, requested), pages - 1);
  const tasks = await pendingSlice(ctx, page * QUEUE_PAGE_SIZE, QUEUE_PAGE_SIZE);
  const lines = tasks.map((t, i) => `${page * QUEUE_PAGE_SIZE + i + 1}. ${taskLine(t, 90, ctx.queue.now())}`);
  const extra = [
    stats.byStatus.in_progress > 0 ? `${stats.byStatus.in_progress} in progress` : null,
    stats.byStatus.blocked > 0 ? `${stats.byStatus.blocked} waiting on dependencies` : null,
  ].filter(Boolean);
  return {
    embeds: [
      {
        title: `📋 Queue — ${total} pending`,
        description: lines.length > 0 ? lines.join('\n') : 'Nothing is waiting. Add work with `/task`.',
        color: COLOR.queued,
        footer: { text: [`Page ${page + 1}/${pages}`, ...extra].join(' · ') },
      },
    ],
    components:
      pages > 1
        ? [
            {
              type: ComponentType.ActionRow,
              components: [
                { type: ComponentType.Button, style: ButtonStyle.Secondary, label: '◀ Previous', custom_id: customId({ kind: 'queue', page: Math.max(0, page - 1) }), disabled: page === 0 },
                { type: ComponentType.Button, style: ButtonStyle.Secondary, label: 'Next ▶', custom_id: customId({ kind: 'queue', page: page + 1 }), disabled: page >= pages - 1 },
              ],
            },
          ]
        : [],
  };
}

export const queueCommand: SlashCommand = {
  usage: '`/queue` — pending tasks in queue order',
  data: command('queue', 'Pending tasks in the order agents will get them').toJSON(),
  execute: (ctx) => queuePage(ctx, 0),
};
