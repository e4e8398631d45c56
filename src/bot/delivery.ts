// Sends planned notifications to Discord: the notification channel or the task's thread, with a nonce.
import { DiscordAPIError, type Client } from 'discord.js';
import type { Logger } from '../logger.js';
import type { BotAccess } from './access.js';
import { findTextChannels, textChannelById, type PostableChannel } from './channels.js';
import { threadName } from './messages.js';
import type { Delivery } from './notifier.js';
import type { ThreadDirectory } from './threads.js';

export class DiscordNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscordNotReadyError';
  }
}

/** A 400 means the message itself is wrong (too long, malformed): sending it again cannot help. */
export function isPermanentDiscordError(err: unknown): boolean {
  return err instanceof DiscordAPIError && err.status === 400;
}

export type DeliveryConfig = {
  /** The resolved notification channel id and the configured guilds. */
  access: () => BotAccess;
  /** As configured (a name or an id), for messages and for a channel created after the bot connected. */
  notificationChannel: string;
  threads: boolean;
};

/** The notification channel, only ever in a configured guild. */
function notificationChannel(client: Client, config: DeliveryConfig): PostableChannel | null {
  const access = config.access();
  if (access.notificationChannel) return textChannelById(client, access.notificationChannel, access.guildIds);
  return findTextChannels(client, config.notificationChannel, access.guildIds)[0] ?? null;
}

export function createDiscordDelivery(client: Client, threads: ThreadDirectory, config: DeliveryConfig, log: Logger): Delivery {
  return async (message, rendered) => {
    if (!client.isReady()) throw new DiscordNotReadyError('the bot is not connected to Discord');
    const channel = notificationChannel(client, config);
    if (!channel) {
      throw new DiscordNotReadyError(`notification channel ${config.notificationChannel} not found (is the bot in the server, and can it see the channel?)`);
    }
    const task = message.task;
    const thread = config.threads && task ? threads.find(task.id) : null;
    const destination = thread && message.target === 'task' ? thread : channel;
    const sent = await destination.send({ ...rendered, nonce: message.nonce, enforceNonce: true });

    // The thread is a convenience: failing to create it must not make the message be sent again.
    if (config.threads && message.startsThread && task && !thread) {
      try {
        threads.remember(task.id, await sent.startThread({ name: threadName(task) }));
      } catch (err) {
        log.warn({ err, taskId: task.id }, 'could not start the task thread; its messages go to the channel');
      }
    }
  };
}
