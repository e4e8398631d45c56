// Builds the discord.js client: Guilds intent (and thread messages when they become comments), REST (and so the gateway URL) from DISCORD_API_BASE.
import { Client, GatewayIntentBits, Options } from 'discord.js';

/**
 * discord.js wants the base without the version ("https://discord.com/api"); a value ending in
 * "/v10" or a slash is accepted too. The gateway URL comes from GET /gateway/bot on this base,
 * so the WebSocket follows it.
 */
export function discordApiBase(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return value.trim().replace(/\/+$/, '').replace(/\/v\d+$/, '');
}

export function createDiscordClient(apiBase: string | undefined, options: { threadComments?: boolean } = {}): Client {
  const api = discordApiBase(apiBase);
  return new Client({
    // Slash commands, buttons and autocomplete arrive without privileged intents; Guilds fills the
    // channel, role and thread caches the bot looks names up in. Reading thread messages as comments
    // needs the messages and their content (a privileged intent), so only when asked for.
    intents: options.threadComments
      ? [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent]
      : [GatewayIntentBits.Guilds],
    rest: api ? { api } : {},
    // discord.js keeps the last 200 messages of every channel and thread it sees (one thread per task); the bot
    // never reads them back (it edits its messages by id), so none are kept. Channels, roles and threads stay
    // cached: names are looked up there, and archived threads are swept after 4 h (discord.js's default).
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
    // Task text is user input: never let it ping @everyone, roles or users.
    allowedMentions: { parse: [] },
  });
}
