// /schedule add|list|pause|remove: recurring tasks from Discord (admin role only, as /pause).
import { LABEL_PATTERN, LIMITS } from '../../core/limits.js';
import type { Schedule } from '../../core/schedule-types.js';
import { InvalidError } from '../../errors.js';
import { COLOR, headline } from '../format.js';
import { actor, command, PRIORITY_CHOICES, parsePriority, type SlashCommand } from './command.js';

/** Schedules one /schedule list shows. */
const LIST_MAX = 20;

const when = (ms: number | null): string => (ms === null ? 'no run ahead' : `<t:${Math.floor(ms / 1000)}:f>`);

function parseLabels(text: string | null): string[] {
  if (!text) return [];
  const labels = text.split(',').map((l) => l.trim()).filter(Boolean);
  for (const label of labels) {
    if (label.length > LIMITS.labelMax || !LABEL_PATTERN.test(label)) throw new InvalidError(`label "${label}" is not a valid label (letters, digits and _ . : / + -)`);
  }
  return labels;
}

function line(s: Schedule): string {
  const state = s.paused ? '⏸️ paused' : `next ${when(s.nextRunAt)}`;
  return `**#${s.id}** \`${s.cron}\` (${s.timeZone}) — ${headline(s.template.description, 60)} · ${state}`;
}

export const scheduleCommand: SlashCommand = {
  usage: '`/schedule add|list|pause|remove` — recurring tasks on a cron expression (admin role)',
  // Creates work for every agent on a timer: as over REST, only admins may.
  requires: 'admin',
  data: command('schedule', 'Recurring tasks: a task created on a cron expression')
    .addSubcommand((sub) =>
      sub
        .setName('add')
        .setDescription('Add a schedule')
        .addStringOption((o) => o.setName('cron').setDescription('Five fields, e.g. "0 9 * * 1-5", or @hourly, @daily, @weekly, @monthly').setRequired(true).setMaxLength(200))
        .addStringOption((o) => o.setName('description').setDescription('What each created task asks').setRequired(true).setMaxLength(4000))
        .addStringOption((o) => o.setName('priority').setDescription('Priority of the tasks (default Medium)').addChoices(...PRIORITY_CHOICES))
        .addStringOption((o) => o.setName('labels').setDescription('Comma-separated labels an agent needs').setMaxLength(1000))
        .addStringOption((o) => o.setName('project').setDescription('Project or repository').setMaxLength(LIMITS.projectMax))
        .addStringOption((o) => o.setName('time_zone').setDescription('IANA time zone of the expression (default: the server\'s)').setMaxLength(100))
        .addStringOption((o) =>
          o.setName('missed').setDescription('After downtime: skip missed runs (default) or create one task for them').addChoices({ name: 'skip', value: 'skip' }, { name: 'once', value: 'once' }),
        )
        .addBooleanOption((o) => o.setName('overlap').setDescription('Create a task even while the previous one is still open')),
    )
    .addSubcommand((sub) => sub.setName('list').setDescription('List schedules with their next run'))
    .addSubcommand((sub) =>
      sub
        .setName('pause')
        .setDescription('Pause a schedule (or resume it)')
        .addIntegerOption((o) => o.setName('schedule_id').setDescription('Schedule id (see /schedule list)').setRequired(true).setMinValue(1))
        .addBooleanOption((o) => o.setName('resume').setDescription('Resume it instead, from now')),
    )
    .addSubcommand((sub) =>
      sub
        .setName('remove')
        .setDescription('Remove a schedule; the tasks it created stay')
        .addIntegerOption((o) => o.setName('schedule_id').setDescription('Schedule id (see /schedule list)').setRequired(true).setMinValue(1)),
    )
    .toJSON(),
  async execute(ctx, interaction) {
    const { queue } = ctx;
    const sub = interaction.options.getSubcommand(true);
    if (sub === 'add') {
      const o = interaction.options;
      const missed = o.getString('missed');
      const s = await queue.addSchedule({
        cron: o.getString('cron', true),
        timeZone: o.getString('time_zone') ?? ctx.config.TZ ?? null,
        template: { description: o.getString('description', true), priority: parsePriority(o.getString('priority'), 'medium'), labels: parseLabels(o.getString('labels')), project: o.getString('project') },
        missed: missed === 'once' ? 'once' : 'skip',
        overlap: o.getBoolean('overlap') ?? false,
        createdBy: actor(interaction),
      });
      return { embeds: [{ description: `🔁 Schedule **#${s.id}** added by ${actor(interaction)}: \`${s.cron}\` (${s.timeZone}), next ${when(s.nextRunAt)}.`, color: COLOR.info }], components: [] };
    }
    if (sub === 'list') {
      const all = await queue.listSchedules();
      const shown = all.slice(0, LIST_MAX).map(line);
      const more = all.length > LIST_MAX ? `\n…and ${all.length - LIST_MAX} more (athena schedule list)` : '';
      return { embeds: [{ title: '🔁 Schedules', description: shown.length > 0 ? shown.join('\n') + more : 'No schedules. Add one with `/schedule add`.', color: COLOR.info }], components: [] };
    }
    const id = interaction.options.getInteger('schedule_id', true);
    if (sub === 'pause') {
      const s = interaction.options.getBoolean('resume') ? await queue.resumeSchedule(id) : await queue.pauseSchedule(id);
      const text = s.paused ? `⏸️ Schedule **#${id}** paused by ${actor(interaction)}.` : `▶️ Schedule **#${id}** resumed by ${actor(interaction)}, next ${when(s.nextRunAt)}.`;
      return { embeds: [{ description: text, color: COLOR.info }], components: [] };
    }
    await queue.removeSchedule(id);
    return { embeds: [{ description: `🗑️ Schedule **#${id}** removed by ${actor(interaction)}; the tasks it created stay.`, color: COLOR.info }], components: [] };
  },
};
