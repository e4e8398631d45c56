// Resolves configured channel names or ids (ALLOWED_CHANNELS, NOTIFICATION_CHANNEL) against Discord's.
import { ChannelType, type Client, type NewsChannel, type TextChannel } from 'discord.js';

/** "#claude-tasks", "claude-tasks" and "123456789012345678" all name a channel. */
export function normalizeChannelRef(ref: string): string {
  return ref.trim().replace(/^#/, '').toLowerCase();
}

export type ChannelLike = { id: string; name?: string | null; parentId?: string | null; parent?: { id: string; name: string } | null };

function matches(refs: string[], id: string | null | undefined, name: string | null | undefined): boolean {
  return refs.some((ref) => ref === id || (name !== null && name !== undefined && ref === name.toLowerCase()));
}

/** Whether a command may run here: an allowed channel, or a thread inside one. '*' allows every channel. */
export function channelAllowed(allowed: string[], channel: ChannelLike | null): boolean {
  const refs = allowed.map(normalizeChannelRef);
  if (refs.includes('*')) return true;
  if (!channel) return false;
  if (matches(refs, channel.id, channel.name)) return true;
  return channel.parentId ? matches(refs, channel.parentId, channel.parent?.name) : false;
}

/** "#claude-tasks" or "#claude-tasks or #ops"; ids are shown as channel mentions. */
export function allowedChannelsText(allowed: string[]): string {
  const names = allowed.map((ref) => {
    const clean = ref.trim().replace(/^#/, '');
    return /^\d{15,21}$/.test(clean) ? `<#${clean}>` : `#${clean}`;
  });
  if (names.length <= 1) return names[0] ?? '#claude-tasks';
  return `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

export type PostableChannel = TextChannel | NewsChannel;

/** The text channel named (or with the id) `ref`, in `guildId` when set; null when the bot cannot see it. */
export function findTextChannel(client: Client, ref: string, guildId?: string): PostableChannel | null {
  const wanted = normalizeChannelRef(ref);
  const found = client.channels.cache.find((c) => {
    if (c.type !== ChannelType.GuildText && c.type !== ChannelType.GuildAnnouncement) return false;
    if (guildId && c.guildId !== guildId) return false;
    return c.id === wanted || c.name.toLowerCase() === wanted;
  });
  return (found as PostableChannel | undefined) ?? null;
}
