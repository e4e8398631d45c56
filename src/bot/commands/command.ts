// The shape of one slash command: its registration JSON and a handler that parses, calls the core, formats.
import {
  InteractionContextType,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type SlashCommandIntegerOption,
} from 'discord.js';
import { PRIORITIES, type Priority, type TaskStatus } from '../../core/types.js';
import { InvalidError } from '../../errors.js';
import type { BotContext } from '../context.js';
import type { Reply } from '../respond.js';

export type SlashCommand = {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /** One line for /athena. */
  usage: string;
  /** Tasks offered when autocompleting its task_id option. */
  taskIdStatuses?: TaskStatus[];
  /** Whether its reply is only for the user who ran it. */
  ephemeral?: boolean;
  /** A role the member needs (when configured): DISCORD_SUBMIT_ROLE, or DISCORD_ADMIN_ROLE. */
  requires?: 'submit' | 'admin';
  execute(ctx: BotContext, interaction: ChatInputCommandInteraction): Promise<Reply>;
};

/** A guild-only slash command builder (commands make no sense in DMs). */
export function command(name: string, description: string): SlashCommandBuilder {
  return new SlashCommandBuilder().setName(name).setDescription(description).setContexts(InteractionContextType.Guild);
}

export function taskIdOption(option: SlashCommandIntegerOption, description = 'Task id (start typing to search)'): SlashCommandIntegerOption {
  return option.setName('task_id').setDescription(description).setRequired(true).setMinValue(1).setAutocomplete(true);
}

export const PRIORITY_CHOICES = [
  { name: 'High', value: 'high' },
  { name: 'Medium', value: 'medium' },
  { name: 'Low', value: 'low' },
];

export function parsePriority(value: string | null, fallback: Priority): Priority {
  if (value === null) return fallback;
  const wanted = value.trim().toLowerCase();
  if ((PRIORITIES as readonly string[]).includes(wanted)) return wanted as Priority;
  throw new InvalidError(`priority must be one of High, Medium, Low (got "${value}")`);
}

/** How the actor is named in the task log ("by @alice"). */
export function actor(interaction: ChatInputCommandInteraction | { user: { username: string } }): string {
  return `@${interaction.user.username}`;
}
