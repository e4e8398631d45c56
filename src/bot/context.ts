// What the bot's command, button and autocomplete handlers receive.
import type { Config } from '../config.js';
import type { Queue } from '../core/queue.js';
import type { Logger } from '../logger.js';
import type { DiscordSubmitters } from '../core/ports.js';
import type { BotAccess } from './access.js';
import type { ThreadDirectory } from './threads.js';

export type BotConfig = Pick<
  Config,
  'ALLOWED_CHANNELS' | 'NOTIFICATION_CHANNEL' | 'DISCORD_ADMIN_ROLE' | 'DISCORD_SUBMIT_ROLE' | 'DISCORD_THREADS' | 'DISCORD_GUILD_ID'
> &
  Partial<Pick<Config, 'TZ' | 'DISCORD_THREAD_COMMENTS'>>;

export type BotContext = {
  queue: Queue;
  config: BotConfig;
  log: Logger;
  threads: ThreadDirectory;
  /** Who queued which task from Discord, by user id. */
  submitters: DiscordSubmitters;
  /** Guilds, channel ids and role ids the checks use; names are resolved when the bot connects. */
  access: BotAccess;
};
