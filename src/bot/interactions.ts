// Routes every interaction: from the configured guild only, then slash commands, autocomplete and
// buttons, each after the same channel check (and the role a command needs).
import { MessageFlags, type Interaction } from 'discord.js';
import { assertAdmin, assertMaySubmit, fromOurGuild, isAdmin } from './access.js';
import { handleAutocomplete } from './autocomplete.js';
import { handleButton, handleModalSubmit } from './buttons.js';
import { allowedChannelsText, channelAllowed, type ChannelLike, type ChannelSet } from './channels.js';
import { COMMANDS } from './commands/index.js';
import type { SlashCommand } from './commands/command.js';
import type { BotContext } from './context.js';
import { respond } from './respond.js';

export const NOT_OUR_SERVER = '⛔ Athena only takes commands in its own Discord server.';

function channelOf(interaction: Interaction): ChannelLike | null {
  if (!interaction.channelId) return null;
  const channel = interaction.channel ?? interaction.client.channels.cache.get(interaction.channelId) ?? null;
  if (channel?.isThread()) return { id: channel.id, parentId: channel.parentId };
  return { id: interaction.channelId };
}

/** Buttons sit on the bot's messages: in the command channels, and in the notification channel. */
function buttonChannels(ctx: BotContext): ChannelSet {
  const { commandChannels, notificationChannel } = ctx.access;
  if (commandChannels === 'any' || !notificationChannel) return commandChannels;
  return new Set([...commandChannels, notificationChannel]);
}

function assertRole(ctx: BotContext, interaction: Interaction, command: SlashCommand): void {
  if (command.requires === 'submit') assertMaySubmit(ctx, interaction);
  else if (command.requires === 'admin') assertAdmin(ctx, interaction, `use /${command.data.name}`);
}

export function createInteractionHandler(ctx: BotContext): (interaction: Interaction) => Promise<void> {
  const refuse = async (interaction: Interaction, content: string) => {
    if (interaction.isAutocomplete()) await interaction.respond([]);
    else if (interaction.isRepliable()) await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  };
  return async (interaction) => {
    try {
      if (!fromOurGuild(ctx.access, interaction)) {
        ctx.log.warn({ guild: interaction.guildId, user: interaction.user.id, type: interaction.type }, 'refused an interaction from outside the configured server');
        await refuse(interaction, NOT_OUR_SERVER);
        return;
      }
      if (interaction.isAutocomplete()) {
        const command = COMMANDS.get(interaction.commandName);
        // Suggestions show task text: only where the command itself would run, to whom may run it.
        const allowed =
          command !== undefined &&
          channelAllowed(ctx.access.commandChannels, channelOf(interaction)) &&
          (command.requires !== 'admin' || ctx.access.adminRoles === null || isAdmin(ctx.access, interaction));
        if (!allowed) await interaction.respond([]);
        else await handleAutocomplete(ctx, interaction, command.taskIdStatuses);
      } else if (interaction.isChatInputCommand()) {
        const command = COMMANDS.get(interaction.commandName);
        if (!command) {
          await refuse(interaction, '❌ Unknown command; try `/athena`.');
          return;
        }
        if (!channelAllowed(ctx.access.commandChannels, channelOf(interaction))) {
          await refuse(interaction, `⚠️ This command only works in ${allowedChannelsText(ctx.config.ALLOWED_CHANNELS)}`);
          return;
        }
        await respond(
          interaction,
          async () => {
            assertRole(ctx, interaction, command);
            return command.execute(ctx, interaction);
          },
          { log: ctx.log, mode: 'reply', deferEphemeral: command.ephemeral },
        );
      } else if (interaction.isButton()) {
        if (!channelAllowed(buttonChannels(ctx), channelOf(interaction))) {
          await refuse(interaction, `⚠️ Buttons only work in ${allowedChannelsText(ctx.config.ALLOWED_CHANNELS)}`);
          return;
        }
        await handleButton(ctx, interaction);
      } else if (interaction.isModalSubmit()) {
        if (!channelAllowed(buttonChannels(ctx), channelOf(interaction))) {
          await refuse(interaction, `⚠️ Forms only work in ${allowedChannelsText(ctx.config.ALLOWED_CHANNELS)}`);
          return;
        }
        await handleModalSubmit(ctx, interaction);
      }
    } catch (err) {
      ctx.log.warn({ err, interaction: interaction.id }, 'could not handle an interaction');
    }
  };
}
