// Acknowledges an interaction within Discord's 3 seconds: answers directly when the work is quick,
// defers first when it is slow, and maps errors once to an ephemeral reply.
import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction, type Message, type ModalSubmitInteraction } from 'discord.js';
import { AthenaError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BotMessage } from './messages.js';

export type Reply = BotMessage & {
  ephemeral?: boolean;
  /** Runs with the posted reply (e.g. to start a thread from it); failures are logged only. */
  after?: (message: Message) => Promise<void>;
};

export type RespondOptions = {
  log: Logger;
  /** 'update' edits the message the button was on; 'reply' posts a new reply. */
  mode: 'reply' | 'update';
  /** Whether a deferred reply starts ephemeral (its ephemerality cannot change later). */
  deferEphemeral?: boolean;
  /** Defer when the work has not finished by then; Discord's limit is 3 s. */
  deferAfterMs?: number;
};

type Outcome = { ok: true; reply: Reply } | { ok: false; err: unknown };

/** The text a user sees for an error: the core's own message, or a generic one (logged) for bugs. */
export function errorText(err: unknown, log: Logger): string {
  if (err instanceof AthenaError) return `❌ ${err.message}`;
  log.error({ err }, 'interaction failed');
  return '❌ Something went wrong while handling this; the error was logged.';
}

const payload = (reply: Reply) => ({ content: reply.content ?? '', embeds: reply.embeds, components: reply.components });

export async function respond(
  interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
  work: () => Promise<Reply>,
  options: RespondOptions,
): Promise<void> {
  const { log, mode } = options;
  const outcome: Promise<Outcome> = work().then(
    (reply) => ({ ok: true, reply }),
    (err: unknown) => ({ ok: false, err }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), options.deferAfterMs ?? 1500);
  });
  const quick = await Promise.race([outcome, slow]);
  clearTimeout(timer);

  try {
    let deferred = false;
    let result = quick;
    if (!result) {
      deferred = true;
      if (mode === 'update' && interaction.isButton()) await interaction.deferUpdate();
      else await interaction.deferReply(options.deferEphemeral ? { flags: MessageFlags.Ephemeral } : {});
      result = await outcome;
    }
    let posted: Message | undefined;
    if (!result.ok) {
      const content = errorText(result.err, log);
      if (!deferred) await interaction.reply({ content, flags: MessageFlags.Ephemeral });
      else if (mode === 'reply' && options.deferEphemeral) await interaction.editReply({ content, embeds: [], components: [] });
      else {
        if (mode === 'reply') await interaction.deleteReply();
        await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
      }
      return;
    }
    const reply = result.reply;
    const ephemeral = reply.ephemeral === true;
    if (mode === 'update' && interaction.isButton()) {
      if (deferred) posted = await interaction.editReply(payload(reply));
      else posted = (await interaction.update({ ...payload(reply), withResponse: true })).resource?.message ?? undefined;
    } else if (!deferred) {
      const response = await interaction.reply({ ...payload(reply), flags: ephemeral ? MessageFlags.Ephemeral : undefined, withResponse: true });
      posted = response.resource?.message ?? undefined;
    } else if (ephemeral === (options.deferEphemeral === true)) {
      posted = await interaction.editReply(payload(reply));
    } else {
      await interaction.deleteReply();
      posted = await interaction.followUp({ ...payload(reply), flags: ephemeral ? MessageFlags.Ephemeral : undefined });
    }
    if (reply.after && posted) {
      await reply.after(posted).catch((err: unknown) => log.warn({ err }, 'follow-up work after a reply failed'));
    }
  } catch (err) {
    // The interaction expired or Discord is unreachable: nothing more can be said to this user.
    log.warn({ err, interaction: interaction.id }, 'could not answer an interaction');
  }
}
