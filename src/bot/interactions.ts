// Routes every interaction: slash commands (after the channel check), autocomplete and buttons.
import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import { handleAutocomplete } from './autocomplete.js';
import { handleButton } from './buttons.js';
import { allowedChannelsText, channelAllowed, type ChannelLike } from './channels.js';
import { COMMANDS } from './commands/index.js';
import type { BotContext } from './context.js';
import { respond } from './respond.js';

function channelOf(interaction: ChatInputCommandInteraction): ChannelLike {
  const channel = interaction.channel ?? interaction.client.channels.cache.get(interaction.channelId) ?? null;
  const name = channel && 'name' in channel ? channel.name : null;
  if (channel?.isThread()) {
    return { id: channel.id, name, parentId: channel.parentId, parent: channel.parent ? { id: channel.parent.id, name: channel.parent.name } : null };
  }
  return { id: interaction.channelId, name };
}

export function createInteractionHandler(ctx: BotContext): (interaction: Interaction) => Promise<void> {
  return async (interaction) => {
    try {
      if (interaction.isAutocomplete()) {
        await handleAutocomplete(ctx, interaction, COMMANDS.get(interaction.commandName)?.taskIdStatuses);
      } else if (interaction.isChatInputCommand()) {
        const command = COMMANDS.get(interaction.commandName);
        if (!command) {
          await interaction.reply({ content: '❌ Unknown command; try `/athena`.', flags: MessageFlags.Ephemeral });
          return;
        }
        if (!channelAllowed(ctx.config.ALLOWED_CHANNELS, channelOf(interaction))) {
          await interaction.reply({ content: `⚠️ This command only works in ${allowedChannelsText(ctx.config.ALLOWED_CHANNELS)}`, flags: MessageFlags.Ephemeral });
          return;
        }
        await respond(interaction, () => command.execute(ctx, interaction), { log: ctx.log, mode: 'reply', deferEphemeral: command.ephemeral });
      } else if (interaction.isButton()) {
        await handleButton(ctx, interaction);
      }
    } catch (err) {
      ctx.log.warn({ err, interaction: interaction.id }, 'could not handle an interaction');
    }
  };
}
