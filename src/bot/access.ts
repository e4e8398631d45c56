// Who may change a task from Discord: with DISCORD_ADMIN_ROLE set, members with that role or its submitter.
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { Task } from '../core/types.js';
import { ForbiddenError } from '../errors.js';
import type { BotContext } from './context.js';
import { discordSubmitter } from './format.js';

type Acting = ChatInputCommandInteraction | ButtonInteraction;

/** The member's roles as {id, name}; names come from the guild's role cache when the payload has ids only. */
export function memberRoles(interaction: Acting): Array<{ id: string; name: string | null }> {
  const roles = interaction.member?.roles;
  if (!roles) return [];
  if (Array.isArray(roles)) return roles.map((id) => ({ id, name: interaction.guild?.roles.cache.get(id)?.name ?? null }));
  return roles.cache.map((role) => ({ id: role.id, name: role.name }));
}

export function hasAdminRole(role: string, interaction: Acting): boolean {
  const wanted = role.trim().replace(/^@/, '').toLowerCase();
  return memberRoles(interaction).some((r) => r.id === wanted || r.name?.toLowerCase() === wanted);
}

/** The name `submitted_by` holds for this user. */
export function submitterOf(interaction: Acting): string {
  return discordSubmitter(interaction.user.username);
}

/** Throws ForbiddenError unless this user may `verb` the task. */
export function assertMayChange(ctx: BotContext, interaction: Acting, task: Task, verb: string): void {
  const role = ctx.config.DISCORD_ADMIN_ROLE;
  if (!role) return;
  if (task.submittedBy === submitterOf(interaction)) return;
  if (hasAdminRole(role, interaction)) return;
  throw new ForbiddenError(`Only members with the ${role.replace(/^@/, '')} role or the task's submitter can ${verb} task #${task.id}`);
}
