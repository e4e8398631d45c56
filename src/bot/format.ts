// Text helpers shared by the bot's embeds, replies and notifications (labels, names, truncation).
import type { Priority, Task, TaskStatus } from '../core/types.js';

export const PRIORITY_LABEL: Record<Priority, string> = { high: '🔴 High', medium: '🟡 Medium', low: '🟢 Low' };
export const PRIORITY_DOT: Record<Priority, string> = { high: '🔴', medium: '🟡', low: '🟢' };

export const STATUS_LABEL: Record<TaskStatus, string> = {
  pending: '⏳ Pending',
  in_progress: '🔨 In progress',
  needs_input: '❓ Needs input',
  in_review: '👀 In review',
  completed: '✅ Completed',
  failed: '❌ Failed',
  cancelled: '🛑 Cancelled',
  blocked: '⛓️ Blocked',
};

/** Embed colours by meaning. */
export const COLOR = {
  queued: 0x3498db,
  claimed: 0xf1c40f,
  progress: 0x95a5a6,
  completed: 0x2ecc71,
  failed: 0xe74c3c,
  needsInput: 0x9b59b6,
  review: 0x1abc9c,
  requeued: 0xe67e22,
  cancelled: 0x7f8c8d,
  info: 0x5865f2,
} as const;

/** What `submitted_by` holds for tasks created from Discord, so the submitter can be recognised later. */
export const DISCORD_SUBMITTER_PREFIX = 'discord:';

export function discordSubmitter(username: string): string {
  return `${DISCORD_SUBMITTER_PREFIX}${username}`;
}

export function isDiscordSubmitted(task: Pick<Task, 'submittedBy'>): boolean {
  return task.submittedBy?.startsWith(DISCORD_SUBMITTER_PREFIX) === true;
}

/** "@alice" for a Discord submitter, the surface's own name otherwise. */
export function submitterLabel(submittedBy: string | null): string {
  if (!submittedBy) return 'the API';
  if (submittedBy.startsWith(DISCORD_SUBMITTER_PREFIX)) return `@${submittedBy.slice(DISCORD_SUBMITTER_PREFIX.length)}`;
  return submittedBy;
}

/** Cuts text to `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** First line of a description, short enough for a list row, a thread name or a choice. */
export function headline(description: string, max = 80): string {
  const first = description.split('\n').find((line) => line.trim() !== '') ?? description;
  return truncate(first.trim(), max);
}

/** Discord renders `<t:SECONDS:R>` as "3 minutes ago" in each reader's locale. */
export function relativeTime(ms: number | null): string {
  return ms === null ? 'never' : `<t:${Math.floor(ms / 1000)}:R>`;
}

export function agentName(task: Pick<Task, 'instanceName' | 'instanceId'>): string {
  return task.instanceName ?? task.instanceId ?? 'an agent';
}

/** "#5 🟡 Fix the login page" — one task in a list. */
export function taskLine(task: Task, max = 90, now = Date.now()): string {
  // A task scheduled for later is marked with its start time (each reader's own time zone).
  const later = task.status === 'pending' && task.runAfter > now ? ` ⏰ <t:${Math.floor(task.runAfter / 1000)}:f>` : '';
  return `**#${task.id}** ${PRIORITY_DOT[task.priority]}${later} ${headline(task.description, max)}`;
}
