// Who may do what from where in Discord: only the configured guilds, channels matched by id, roles
// matched by id, and a task's submitter recognised by Discord user id (never by a name anyone can take).
import type { Client, Interaction } from 'discord.js';
import type { Task } from '../core/types.js';
import { ForbiddenError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BotConfig, BotContext } from './context.js';
import { resolveChannelRefs, type ChannelSet } from './channels.js';

const SNOWFLAKE = /^\d{15,21}$/;

/** Everything a check needs, with names already turned into ids (when the bot connects). */
export type BotAccess = {
  guildIds: ReadonlySet<string>;
  /** Where commands and autocomplete work (and threads inside). */
  commandChannels: ChannelSet;
  /** Where the notifier posts; its buttons work there too. */
  notificationChannel: string | null;
  /** Role ids; null when no role is configured (then nobody needs one). */
  adminRoles: ReadonlySet<string> | null;
  submitRoles: ReadonlySet<string> | null;
};

type RoleLike = { id: string; name: string; guild: { id: string } };

/** `@athena-admin` and `athena-admin` name the same role; a name must match exactly, as Discord shows it. */
function roleRef(ref: string): string {
  return ref.trim().replace(/^@/, '');
}

/** What is known before connecting: the guilds, and the channels and roles given by id. */
export function accessFromConfig(config: BotConfig): BotAccess {
  const refs = (list: string[]) => new Set(list.map((r) => r.trim().replace(/^#/, '')).filter((r) => SNOWFLAKE.test(r)));
  const role = (ref: string | undefined) => (ref === undefined ? null : SNOWFLAKE.test(roleRef(ref)) ? new Set([roleRef(ref)]) : new Set<string>());
  const notification = config.NOTIFICATION_CHANNEL.trim().replace(/^#/, '');
  return {
    guildIds: new Set(config.DISCORD_GUILD_ID),
    commandChannels: config.ALLOWED_CHANNELS.includes('*') ? 'any' : refs(config.ALLOWED_CHANNELS),
    notificationChannel: SNOWFLAKE.test(notification) ? notification : null,
    adminRoles: role(config.DISCORD_ADMIN_ROLE),
    submitRoles: role(config.DISCORD_SUBMIT_ROLE),
  };
}

function resolveRole(roles: RoleLike[], ref: string | undefined, guildIds: ReadonlySet<string>, setting: string, log: Logger): Set<string> | null {
  if (ref === undefined) return null;
  const wanted = roleRef(ref);
  if (SNOWFLAKE.test(wanted)) return new Set([wanted]);
  const ids = roles.filter((r) => guildIds.has(r.guild.id) && r.name === wanted).map((r) => r.id);
  if (ids.length === 0) log.error({ setting, role: wanted }, `${setting}: no role named exactly "${wanted}" in the configured server; nobody has it until it exists (the bot looks again when it reconnects)`);
  else log.info({ setting, role: wanted, ids }, `${setting}: role resolved to its id`);
  return new Set(ids);
}

/** Resolves the configured names to ids, within the configured guilds only, and logs what they became. */
export function resolveAccess(client: Client<true>, config: BotConfig, log: Logger): BotAccess {
  const base = accessFromConfig(config);
  const guildIds = base.guildIds;
  const missing = [...guildIds].filter((id) => !client.guilds.cache.has(id));
  if (missing.length > 0) log.error({ guilds: missing }, 'the bot is not a member of these configured servers (DISCORD_GUILD_ID): invite it there');

  let commandChannels = base.commandChannels;
  if (commandChannels !== 'any') {
    const resolved = resolveChannelRefs(client, config.ALLOWED_CHANNELS, guildIds);
    for (const { ref, ids } of resolved.found) log.info({ channel: ref, ids }, 'ALLOWED_CHANNELS: channel name resolved to its id');
    if (resolved.missing.length > 0) log.warn({ channels: resolved.missing }, 'ALLOWED_CHANNELS: no channel with these names in the configured server');
    commandChannels = resolved.ids;
  }
  const notification = resolveChannelRefs(client, [config.NOTIFICATION_CHANNEL], guildIds);
  const notificationChannel = [...notification.ids][0] ?? null;
  if (notification.found[0] && notification.found[0].ids.length > 1) {
    log.warn({ channel: notification.found[0].ref, ids: notification.found[0].ids }, 'NOTIFICATION_CHANNEL: several channels have this name; using the first (set the id instead)');
  }
  if (notification.found[0]) log.info({ channel: notification.found[0].ref, id: notificationChannel }, 'NOTIFICATION_CHANNEL: channel name resolved to its id');

  const roles = [...client.guilds.cache.values()].flatMap((g) => [...g.roles.cache.values()]);
  return {
    guildIds,
    commandChannels,
    notificationChannel,
    adminRoles: resolveRole(roles, config.DISCORD_ADMIN_ROLE, guildIds, 'DISCORD_ADMIN_ROLE', log),
    submitRoles: resolveRole(roles, config.DISCORD_SUBMIT_ROLE, guildIds, 'DISCORD_SUBMIT_ROLE', log),
  };
}

/** Whether the interaction comes from one of the configured guilds (never from a DM or another server). */
export function fromOurGuild(access: BotAccess, interaction: Interaction): boolean {
  return interaction.guildId !== null && access.guildIds.has(interaction.guildId);
}

/** The ids of the member's roles, as Discord sent them with the interaction. */
export function memberRoleIds(interaction: Interaction): string[] {
  const roles = interaction.member?.roles;
  if (!roles) return [];
  if (Array.isArray(roles)) return roles;
  return [...roles.cache.keys()];
}

function hasAnyRole(wanted: ReadonlySet<string>, interaction: Interaction): boolean {
  return memberRoleIds(interaction).some((id) => wanted.has(id));
}

export function isAdmin(access: BotAccess, interaction: Interaction): boolean {
  return access.adminRoles !== null && hasAnyRole(access.adminRoles, interaction);
}

const roleName = (ref: string | undefined) => roleRef(ref ?? '');

/** Throws ForbiddenError unless the member has the admin role (when one is configured). */
export function assertAdmin(ctx: BotContext, interaction: Interaction, what: string): void {
  if (ctx.access.adminRoles === null || isAdmin(ctx.access, interaction)) return;
  throw new ForbiddenError(`Only members with the ${roleName(ctx.config.DISCORD_ADMIN_ROLE)} role can ${what}`);
}

/** Throws ForbiddenError unless the member may queue tasks (DISCORD_SUBMIT_ROLE, or the admin role). */
export function assertMaySubmit(ctx: BotContext, interaction: Interaction): void {
  const { submitRoles } = ctx.access;
  if (submitRoles === null || hasAnyRole(submitRoles, interaction) || isAdmin(ctx.access, interaction)) return;
  throw new ForbiddenError(`Only members with the ${roleName(ctx.config.DISCORD_SUBMIT_ROLE)} role can queue tasks`);
}

/** Throws ForbiddenError unless this user may `verb` the task: the admin role, or having queued it. */
export async function assertMayChange(ctx: BotContext, interaction: Interaction, task: Task, verb: string): Promise<void> {
  if (ctx.access.adminRoles === null) return;
  if (isAdmin(ctx.access, interaction)) return;
  if ((await ctx.submitters.userOf(task.id)) === interaction.user.id) return;
  throw new ForbiddenError(`Only members with the ${roleName(ctx.config.DISCORD_ADMIN_ROLE)} role or the task's submitter can ${verb} task #${task.id}`);
}
