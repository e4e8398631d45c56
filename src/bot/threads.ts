// Finds the thread of a task (created from its "Task Queued" or claim message) among the bot's threads.
import type { AnyThreadChannel, Client } from 'discord.js';
import { threadPrefix } from './messages.js';

export type ThreadDirectory = {
  find(taskId: number): AnyThreadChannel | null;
  remember(taskId: number, thread: AnyThreadChannel): void;
  /** How many task → thread ids are remembered (at most KNOWN_THREADS_MAX). */
  size(): number;
};

/**
 * The remembered ids only save a scan of the cache, so the oldest are forgotten past this many:
 * a long-running bot does not grow with every task it ever posted.
 */
export const KNOWN_THREADS_MAX = 1000;

/**
 * Threads are found by name ("#5 · …") among the bot's own threads in the client's cache, which
 * GUILD_CREATE fills with the active threads at every start, so no table is needed. An archived
 * thread is not in that list: the task's later messages then go to the channel.
 */
export function createThreadDirectory(client: Client, guildIds: ReadonlySet<string>): ThreadDirectory {
  const known = new Map<number, string>(); // insertion order is age: the first key is the oldest
  const remember = (taskId: number, threadId: string) => {
    known.delete(taskId);
    known.set(taskId, threadId);
    if (known.size > KNOWN_THREADS_MAX) known.delete(known.keys().next().value!);
  };
  return {
    find(taskId) {
      const id = known.get(taskId);
      const cached = id ? client.channels.cache.get(id) : undefined;
      if (cached?.isThread() && guildIds.has(cached.guildId)) return cached;
      const prefix = threadPrefix(taskId);
      // Only in the configured guilds: a thread of that name elsewhere is not the task's.
      const found = client.channels.cache.find(
        (c): c is AnyThreadChannel => c.isThread() && guildIds.has(c.guildId) && c.ownerId === client.user?.id && c.name.startsWith(prefix) && !c.locked,
      ) as AnyThreadChannel | undefined;
      if (found) remember(taskId, found.id);
      return found ?? null;
    },
    remember(taskId, thread) {
      remember(taskId, thread.id);
    },
    size: () => known.size,
  };
}
