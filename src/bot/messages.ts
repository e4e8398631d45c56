// Renders tasks and task events as Discord message payloads (embeds + buttons); pure, no I/O.
import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent, type APIEmbed } from 'discord.js';
import type { AnnouncementKind, Task } from '../core/types.js';
import { changeLine, readWorkSummary } from '../core/work-summary.js';
import { customId } from './custom-ids.js';
import { COLOR, PRIORITY_LABEL, agentName, headline, submitterLabel, taskLine, truncate } from './format.js';

export type ButtonRow = APIActionRowComponent<APIButtonComponent>;
export type BotMessage = { content?: string; embeds: APIEmbed[]; components: ButtonRow[] };

const FIELD_MAX = 1024;
const DESCRIPTION_MAX = 4000;
/** Rows listed in one summary message before "…and N more". */
export const SUMMARY_ROWS = 10;

type TaskButton = 'cancel' | 'raise' | 'retry' | 'accept' | 'changes';

function button(kind: TaskButton, taskId: number): APIButtonComponent {
  const look: { label: string; style: ButtonStyle.Danger | ButtonStyle.Secondary | ButtonStyle.Primary | ButtonStyle.Success; emoji: string } = {
    cancel: { label: 'Cancel', style: ButtonStyle.Danger, emoji: '🛑' } as const,
    raise: { label: 'Raise priority', style: ButtonStyle.Secondary, emoji: '⬆️' } as const,
    retry: { label: 'Retry', style: ButtonStyle.Primary, emoji: '🔁' } as const,
    accept: { label: 'Accept', style: ButtonStyle.Success, emoji: '👍' } as const,
    changes: { label: 'Request changes', style: ButtonStyle.Secondary, emoji: '✏️' } as const,
  }[kind];
  return { type: ComponentType.Button, custom_id: customId({ kind, taskId }), label: look.label, style: look.style, emoji: { name: look.emoji } };
}

export function taskButtons(taskId: number, kinds: TaskButton[]): ButtonRow[] {
  if (kinds.length === 0) return [];
  return [{ type: ComponentType.ActionRow, components: kinds.map((k) => button(k, taskId)) }];
}

/** Buttons that make sense for a task in its current state. */
export function buttonsFor(task: Task): ButtonRow[] {
  switch (task.status) {
    case 'pending':
    case 'blocked':
      return taskButtons(task.id, task.priority === 'high' ? ['cancel'] : ['cancel', 'raise']);
    case 'in_progress':
    case 'needs_input':
      return taskButtons(task.id, ['cancel']);
    case 'failed':
      return taskButtons(task.id, ['retry']);
    case 'in_review':
      return taskButtons(task.id, ['accept', 'changes']);
    default:
      return [];
  }
}

/** "📋 Task Queued": the original embed (blue; Task ID, Priority; footer "Submitted by @user"). */
export function queuedEmbed(task: Task): APIEmbed {
  const fields = [
    { name: 'Task ID', value: `#${task.id}`, inline: true },
    { name: 'Priority', value: PRIORITY_LABEL[task.priority], inline: true },
  ];
  if (task.dependsOn.length > 0) fields.push({ name: 'Waits for', value: task.dependsOn.map((id) => `#${id}`).join(', '), inline: true });
  if (task.labels.length > 0) fields.push({ name: 'Labels', value: truncate(task.labels.join(', '), FIELD_MAX), inline: true });
  if (task.project) fields.push({ name: 'Project', value: truncate(task.project, FIELD_MAX), inline: true });
  return {
    title: '📋 Task Queued',
    description: truncate(task.description, DESCRIPTION_MAX),
    color: COLOR.queued,
    fields,
    footer: { text: `Submitted by ${submitterLabel(task.submittedBy)}` },
  };
}

export function queuedMessage(task: Task): BotMessage {
  return { embeds: [queuedEmbed(task)], components: buttonsFor(task) };
}

/** The attempts rule in words (docs/api.md, "Retries and attempts"): the attempt running counts as used. */
const attemptsUsed = (task: Task) => `${task.attempts} of ${task.maxAttempts} attempts used`;

export function claimedMessage(task: Task): BotMessage {
  return {
    embeds: [
      {
        title: `🔨 Task #${task.id} claimed by ${truncate(agentName(task), 200)}`,
        description: headline(task.description, 300),
        color: COLOR.claimed,
        footer: { text: `Attempt ${task.attempts} of ${task.maxAttempts}` },
      },
    ],
    components: task.status === 'in_progress' ? taskButtons(task.id, ['cancel']) : [],
  };
}

export function progressMessage(task: Task, progress: string): BotMessage {
  return { embeds: [{ description: `📝 **#${task.id}** ${truncate(progress, 1500)}`, color: COLOR.progress }], components: [] };
}

/** A comment written elsewhere (dashboard, CLI, an agent), posted into the task's thread. */
export function commentMessage(task: Task, author: string, body: string): BotMessage {
  return { embeds: [{ description: `💬 **${truncate(author, 100)}** on **#${task.id}**: ${truncate(body, 3500)}`, color: COLOR.info }], components: [] };
}

/** Branch and PR link from `athena work --repo`; readWorkSummary admits only plain branch names and https PR links, so nothing here is markup. */
function workFields(task: Task): Array<{ name: string; value: string; inline?: boolean }> {
  const work = readWorkSummary(task.result);
  if (!work) return [];
  const fields = [];
  if (work.branch) fields.push({ name: 'Branch', value: `\`${work.branch}\`${work.base ? ` from \`${work.base}\`` : ''}\n${changeLine(work) || 'no changes'}`, inline: true });
  if (work.prUrl) fields.push({ name: 'Pull request', value: work.prUrl, inline: true });
  return fields;
}

export function completedMessage(task: Task, next: Task | null): BotMessage {
  const fields = [];
  if (task.notes) fields.push({ name: 'Notes', value: truncate(task.notes, FIELD_MAX) });
  fields.push(...workFields(task));
  fields.push({ name: 'Next in line', value: next ? taskLine(next, 200) : 'The queue is empty 🎉' });
  return {
    embeds: [{ title: `✅ Task #${task.id} completed by ${truncate(agentName(task), 200)}`, description: headline(task.description, 300), color: COLOR.completed, fields }],
    components: [],
  };
}

/** The completion of a task that requires review: a person accepts it or requests changes. */
export function inReviewMessage(task: Task): BotMessage {
  const fields = [];
  if (task.notes) fields.push({ name: 'Notes', value: truncate(task.notes, FIELD_MAX) });
  if (task.reviewFeedback) fields.push({ name: 'Last feedback', value: truncate(task.reviewFeedback, FIELD_MAX) });
  return {
    embeds: [
      {
        title: `👀 Task #${task.id} done by ${truncate(agentName(task), 200)}: waiting for review`,
        description: headline(task.description, 300),
        color: COLOR.review,
        fields,
        footer: { text: 'Accept it, or request changes: it goes back to its agent with your feedback' },
      },
    ],
    components: task.status === 'in_review' ? taskButtons(task.id, ['accept', 'changes']) : [],
  };
}

export function changesRequestedMessage(task: Task, details: string | null): BotMessage {
  return {
    embeds: [{ title: `✏️ Changes requested on task #${task.id}`, description: truncate(details ?? task.reviewFeedback ?? '', DESCRIPTION_MAX), color: COLOR.review }],
    components: [],
  };
}

export function failedMessage(task: Task, details: string | null): BotMessage {
  const reason = task.error ?? details ?? 'no error message';
  return {
    embeds: [
      {
        title: `❌ Task #${task.id} failed`,
        description: headline(task.description, 300),
        color: COLOR.failed,
        fields: [{ name: 'Error', value: truncate(reason, FIELD_MAX) }, { name: 'Attempts', value: attemptsUsed(task), inline: true }],
      },
    ],
    components: task.status === 'failed' ? taskButtons(task.id, ['retry']) : [],
  };
}

export function needsInputMessage(task: Task): BotMessage {
  return {
    embeds: [
      {
        title: `❓ Task #${task.id} needs input`,
        description: truncate(task.question ?? 'The agent is waiting for an answer.', DESCRIPTION_MAX),
        color: COLOR.needsInput,
        fields: [{ name: 'Answer with', value: `\`/answer task_id:${task.id} text:…\`` }],
        footer: { text: `Asked by ${truncate(agentName(task), 200)}` },
      },
    ],
    components: [],
  };
}

export function requeuedMessage(task: Task, details: string | null): BotMessage {
  return {
    embeds: [{ title: `🔁 Task #${task.id} back in the queue`, description: truncate(details ?? headline(task.description, 300), DESCRIPTION_MAX), color: COLOR.requeued }],
    components: [],
  };
}

export function cancelledMessage(task: Task, details: string | null): BotMessage {
  return {
    embeds: [{ title: `🛑 Task #${task.id} cancelled`, description: headline(task.description, 300), color: COLOR.cancelled, ...(details ? { footer: { text: truncate(details, 200) } } : {}) }],
    components: [],
  };
}

/** One message for a burst: "📋 200 tasks queued" listing the first few. */
export function summaryMessage(title: string, color: number, lines: string[], total: number, extra?: { name: string; value: string }): BotMessage {
  const shown = lines.slice(0, SUMMARY_ROWS);
  const more = total - shown.length;
  const description = truncate([...shown, ...(more > 0 ? [`…and ${more} more`] : [])].join('\n'), DESCRIPTION_MAX);
  return { embeds: [{ title, description, color, ...(extra ? { fields: [extra] } : {}) }], components: [] };
}

const ANNOUNCEMENT_TITLE: Record<AnnouncementKind, string> = {
  daily_summary: '📊 Daily summary',
  retention_notice: '🧹 Retention notice',
  webhook_notice: '🪝 Webhook disabled',
};

/** A message about the queue as a whole: its text comes ready-made from the loop that wrote it. */
export function announcementMessage(kind: AnnouncementKind, text: string): BotMessage {
  return { embeds: [{ title: ANNOUNCEMENT_TITLE[kind], description: truncate(text, DESCRIPTION_MAX), color: COLOR.info }], components: [] };
}

/** Name of a task's thread; the "#id ·" prefix is how the bot finds the thread again. */
export function threadName(task: Pick<Task, 'id' | 'description'>): string {
  return truncate(`#${task.id} · ${headline(task.description, 90)}`, 100);
}

export function threadPrefix(taskId: number): string {
  return `#${taskId} · `;
}

/** The task a thread is about, from its name ("#5 · …"), or null. */
export function threadTaskId(name: string): number | null {
  const match = name.match(/^#(\d{1,15}) · /);
  return match ? Number(match[1]) : null;
}
