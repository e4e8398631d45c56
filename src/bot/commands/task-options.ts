// Options /task and /edit share: labels, project, assignee, dependencies and a start time, parsed alike.
import type { ChatInputCommandInteraction, SlashCommandBuilder, SlashCommandOptionsOnlyBuilder } from 'discord.js';
import { LABEL_PATTERN, LIMITS } from '../../core/limits.js';
import { parseStartTime } from '../../core/start-time.js';
import { InvalidError } from '../../errors.js';

type Builder = SlashCommandBuilder | SlashCommandOptionsOnlyBuilder;

/** Adds the shared options; on /edit, "none" clears project, assignee and start time. */
export function withTaskOptions<B extends Builder>(builder: B, editing: boolean): SlashCommandOptionsOnlyBuilder {
  const clear = editing ? ' ("none" clears it)' : '';
  return builder
    .addStringOption((o) => o.setName('labels').setDescription(`Comma-separated labels an agent needs${editing ? ' (replaces them)' : ''}`).setMaxLength(500))
    .addStringOption((o) => o.setName('project').setDescription(`Project or repository${clear}`).setMaxLength(LIMITS.projectMax))
    .addStringOption((o) => o.setName('assignee').setDescription(`Only this agent instance may claim it${clear}`).setMaxLength(LIMITS.instanceIdMax))
    .addStringOption((o) => o.setName('start').setDescription(`Not before: "in 2h", "tomorrow 9:00", "17:30"${clear}`).setMaxLength(100))
    .addStringOption((o) => o.setName('depends_on').setDescription(`Task ids that must complete first, e.g. "12, 14"${editing ? ' (replaces them)' : ''}`).setMaxLength(500));
}

const NONE = 'none';

function labelsOf(text: string): string[] {
  const labels = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = labels.find((l) => !LABEL_PATTERN.test(l) || l.length > LIMITS.labelMax);
  if (bad) throw new InvalidError(`"${bad}" is not a label: labels are letters, digits and _ . : / + -`);
  if (labels.length > LIMITS.labelsMax) throw new InvalidError(`at most ${LIMITS.labelsMax} labels`);
  return labels;
}

function idsOf(text: string): number[] {
  const ids = text.split(/[\s,]+/).map((s) => s.replace(/^#/, '')).filter(Boolean);
  const bad = ids.find((s) => !/^\d{1,15}$/.test(s) || Number(s) <= 0);
  if (bad) throw new InvalidError(`"${bad}" is not a task id`);
  return ids.map(Number);
}

export type TaskOptionValues = {
  labels?: string[];
  project?: string | null;
  assignee?: string | null;
  runAfter?: number | null;
  dependsOn?: number[];
};

/** The options given (absent ones stay undefined); "none" is null when editing. */
export function readTaskOptions(interaction: ChatInputCommandInteraction, now: number, timeZone: string, editing: boolean): TaskOptionValues {
  const get = (name: string): string | null | undefined => {
    const value = interaction.options.getString(name)?.trim();
    if (value === undefined || value === '') return undefined;
    return editing && value.toLowerCase() === NONE ? null : value;
  };
  const labels = get('labels');
  const start = get('start');
  const deps = get('depends_on');
  return {
    labels: labels === undefined ? undefined : labels === null ? [] : labelsOf(labels),
    project: get('project'),
    assignee: get('assignee'),
    runAfter: start === undefined ? undefined : start === null ? null : parseStartTime(start, now, timeZone),
    dependsOn: deps === undefined ? undefined : deps === null ? [] : idsOf(deps),
  };
}
