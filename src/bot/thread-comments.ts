// Messages people write in a task's thread become the task's comments (DISCORD_THREAD_COMMENTS).
import type { Client, Message } from 'discord.js';
import type { BotContext } from './context.js';
import { threadTaskId } from './messages.js';

/** Whether the author may write on tasks, as for /task: the submit or admin role, when a submit role is configured. */
function mayComment(ctx: BotContext, message: Message): boolean {
  const { submitRoles, adminRoles } = ctx.access;
  if (submitRoles === null) return true;
  const roles = message.member?.roles.cache;
  if (!roles) return false;
  return [...(submitRoles ?? []), ...(adminRoles ?? [])].some((id) => roles.has(id));
}

export function createThreadCommentHandler(ctx: BotContext, client: Client) {
  return async (message: Message): Promise<void> => {
    if (message.author.bot || !message.content.trim() || !message.channel.isThread()) return;
    const thread = message.channel;
    // Only the bot's own task threads, in the configured servers.
    if (thread.ownerId !== client.user?.id || !ctx.access.guildIds.has(thread.guildId)) return;
    const taskId = threadTaskId(thread.name);
    if (taskId === null || !mayComment(ctx, message)) return;
    try {
      // The message id makes a message delivered twice one comment.
      await ctx.queue.comment(taskId, { author: `@${message.author.username}`, body: message.content, source: 'discord', discordMessageId: message.id });
    } catch (err) {
      ctx.log.warn({ err, taskId }, 'could not keep a thread message as a comment');
    }
  };
}
