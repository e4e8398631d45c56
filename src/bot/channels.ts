// Resolves configured channels (ALLOWED_CHANNELS, NOTIFICATION_CHANNEL) to ids within the configured
// guilds, and checks an interaction's channel against those ids. Names are matched only when resolving.
import { ChannelType, type Client, type NewsChannel, type TextChannel } from 'discord.js';

const SNOWFLAKE = /^\d{15,21}$/;

/** "#claude-tasks" → "claude-tasks"; ids stay as they are. */
export function normalizeChannelRef(ref: string): string {
  return ref.trim().replace(/^#/, '');
}

export type ChannelLike = { id: string; parentId?: string | null };

/** Channel ids where something is allowed, or every channel (of the configured guilds) for '*'. */
export type ChannelSet = ReadonlySet<string> | 'any';

/** Whether a command may run here: an allowed channel, or a thread inside one. */
export function channelAllowed(allowed: ChannelSet, channel: ChannelLike | null): boolean {
  if (allowed === 'any') return true;
  if (!channel) return false;
  return allowed.has(channel.id) || (channel.parentId ? allowed.has(channel.parentId) : false);
}

/** "#claude-tasks" or "#claude-tasks or #ops"; ids are shown as channel mentions. */
export function allowedChannelsText(allowed: string[]): string {
  const names = allowed.map((ref) => {
    const clean = normalizeChannelRef(ref);
    return SNOWFLAKE.test(clean) ? `<#${clean}>` : `#${clean}`;
  });
  if (names.length <= 1) return names[0] ?? '#claude-tasks';
  return `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

export type PostableChannel = TextChannel | NewsChannel;

function isPostable(channel: unknown): channel is PostableChannel {
  const type = (channel as { type?: ChannelType } | undefined)?.type;
  return type === ChannelType.GuildText || type === ChannelType.GuildAnnouncement;
}

/** The text channels of the given guilds named `ref` (exactly, as Discord shows it), or with that id. */
export function findTextChannels(client: Client, ref: string, guildIds: ReadonlySet<string>): PostableChannel[] {
  const wanted = normalizeChannelRef(ref);
  return [...client.channels.cache.values()].filter(
    (c): c is PostableChannel => isPostable(c) && guildIds.has(c.guildId) && (c.id === wanted || c.name === wanted),
  );
}

/** The text channel with this id, if it is in one of the given guilds. */
export function textChannelById(client: Client, id: string, guildIds: ReadonlySet<string>): PostableChannel | null {
  const channel = client.channels.cache.get(id);
  return isPostable(channel) && guildIds.has(channel.guildId) ? channel : null;
}

export type ResolvedChannels = { ids: Set<string>; found: Array<{ ref: string; ids: string[] }>; missing: string[] };

/**
 * Ids for configured references: an id is taken as it is, a name becomes the ids of the channels so
 * named in the configured guilds (looked up once, when the bot connects).
 */
export function resolveChannelRefs(client: Client, refs: string[], guildIds: ReadonlySet<string>): ResolvedChannels {
  const result: ResolvedChannels = { ids: new Set(), found: [], missing: [] };
  for (const ref of refs) {
    const clean = normalizeChannelRef(ref);
    if (SNOWFLAKE.test(clean)) {
      result.ids.add(clean);
      continue;
    }
    const ids = findTextChannels(client, clean, guildIds).map((c) => c.id);
    if (ids.length === 0) result.missing.push(clean);
    else result.found.push({ ref: clean, ids });
    for (const id of ids) result.ids.add(id);
  }
  return result;
}
