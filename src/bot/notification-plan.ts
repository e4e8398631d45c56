// Turns a batch of task events into the Discord messages to send, coalescing bursts; pure, no I/O.
import { ANNOUNCEMENT_KINDS, type AnnouncementKind, type Task, type TaskEvent } from '../core/types.js';
import { COLOR, agentName, isDiscordSubmitted, taskLine } from './format.js';
import {
  announcementMessage,
  cancelledMessage,
  claimedMessage,
  commentMessage,
  completedMessage,
  changesRequestedMessage,
  failedMessage,
  inReviewMessage,
  needsInputMessage,
  progressMessage,
  queuedMessage,
  requeuedMessage,
  summaryMessage,
  type BotMessage,
} from './messages.js';

export type PlanOptions = {
  /** More than this many events of one kind in a batch become one summary message. */
  burst: number;
  /** Post claim/progress/result messages in a thread per task. */
  threads: boolean;
};

/** Where a message goes: the notification channel, or the task's thread when it has one. */
export type Target = 'channel' | 'task';

export type PlannedMessage = {
  /** Deterministic per message, so a resend after a restart is recognised by Discord (enforce_nonce). */
  nonce: string;
  firstEventId: number;
  eventIds: number[];
  target: Target;
  /** The one task the message is about (null for a summary). */
  task: Task | null;
  /** Start the task's thread from this message when it has none yet. */
  startsThread: boolean;
  /** Whether render needs the next pending task (completions show what is next in line). */
  needsNextInLine: boolean;
  render(nextInLine: Task | null): BotMessage;
};


/** The comment a 'commented' event carries (JSON in its details), or null. */
export function commentOf(event: TaskEvent): { author: string; body: string; source: string } | null {
  try {
    const c = JSON.parse(event.details ?? '') as { author?: unknown; body?: unknown; source?: unknown };
    return typeof c.author === 'string' && typeof c.body === 'string' && typeof c.source === 'string' ? { author: c.author, body: c.body, source: c.source } : null;
  } catch {
    return null;
  }
}
type Kind = 'queued' | 'claimed' | 'progress' | 'comment' | 'completed' | 'failed' | 'needs_input' | 'in_review' | 'changes_requested' | 'requeued' | 'cancelled';

type Notice = { kind: Kind; event: TaskEvent; task: Task };

/** Discord accepts nonces of up to 25 characters. */
export function nonceFor(firstEventId: number): string {
  return `athena:${firstEventId}`;
}

/** What kind of message an event calls for, or null when it calls for none. */
export function notificationKind(event: TaskEvent, options: PlanOptions): Kind | null {
  const task = event.task;
  if (!task) return null;
  switch (event.type) {
    // A task submitted with /task is announced by the command's own reply.
    case 'created':
      return isDiscordSubmitted(task) ? null : 'queued';
    case 'claimed':
      return 'claimed';
    case 'heartbeat':
      return options.threads && event.details ? 'progress' : null;
    // Comments go into the task's thread; one written in Discord is there already.
    case 'commented':
      return options.threads && commentOf(event)?.source !== 'discord' && commentOf(event) !== null ? 'comment' : null;
    case 'completed':
    case 'failed':
    case 'needs_input':
    case 'in_review':
    case 'changes_requested':
    case 'requeued':
    case 'cancelled':
      return event.type;
    default:
      return null;
  }
}

function single(notice: Notice, options: PlanOptions): PlannedMessage {
  const { kind, event, task } = notice;
  const base = { nonce: nonceFor(event.id), firstEventId: event.id, eventIds: [event.id], task, startsThread: false, needsNextInLine: false };
  const toTask: Target = 'task';
  switch (kind) {
    case 'queued':
      return { ...base, target: 'channel', startsThread: options.threads, render: () => queuedMessage(task) };
    case 'claimed':
      return { ...base, target: toTask, startsThread: options.threads, render: () => claimedMessage(task) };
    case 'progress':
      return { ...base, target: toTask, render: () => progressMessage(task, event.details ?? '') };
    case 'comment': {
      const c = commentOf(event)!;
      return { ...base, target: toTask, render: () => commentMessage(task, c.author, c.body) };
    }
    case 'completed':
      return { ...base, target: toTask, needsNextInLine: true, render: (next) => completedMessage(task, next) };
    case 'failed':
      return { ...base, target: toTask, render: () => failedMessage(task, event.details) };
    // A question waits for a person: it goes where people look, not into the task's thread.
    case 'needs_input':
      return { ...base, target: 'channel', render: () => needsInputMessage(task) };
    // Work waiting for a person's decision goes where people look, with the Accept / Request changes buttons.
    case 'in_review':
      return { ...base, target: 'channel', render: () => inReviewMessage(task) };
    case 'changes_requested':
      return { ...base, target: toTask, render: () => changesRequestedMessage(task, event.details) };
    case 'requeued':
      return { ...base, target: toTask, render: () => requeuedMessage(task, event.details) };
    case 'cancelled':
      return { ...base, target: toTask, render: () => cancelledMessage(task, event.details) };
  }
}

const SUMMARY: Record<Exclude<Kind, 'progress' | 'comment'>, { title: (n: number) => string; color: number; line: (n: Notice) => string }> = {
  queued: { title: (n) => `📋 ${n} tasks queued`, color: COLOR.queued, line: (n) => taskLine(n.task) },
  claimed: { title: (n) => `🔨 ${n} tasks claimed`, color: COLOR.claimed, line: (n) => `${taskLine(n.task, 60)} — ${agentName(n.task)}` },
  completed: { title: (n) => `✅ ${n} tasks completed`, color: COLOR.completed, line: (n) => `${taskLine(n.task, 60)} — ${agentName(n.task)}` },
  failed: { title: (n) => `❌ ${n} tasks failed`, color: COLOR.failed, line: (n) => taskLine(n.task) },
  needs_input: { title: (n) => `❓ ${n} tasks need input`, color: COLOR.needsInput, line: (n) => taskLine(n.task) },
  in_review: { title: (n) => `👀 ${n} tasks waiting for review`, color: COLOR.review, line: (n) => `${taskLine(n.task, 60)} — ${agentName(n.task)}` },
  changes_requested: { title: (n) => `✏️ Changes requested on ${n} tasks`, color: COLOR.review, line: (n) => taskLine(n.task) },
  requeued: { title: (n) => `🔁 ${n} tasks back in the queue`, color: COLOR.requeued, line: (n) => taskLine(n.task) },
  cancelled: { title: (n) => `🛑 ${n} tasks cancelled`, color: COLOR.cancelled, line: (n) => taskLine(n.task) },
};

function summary(kind: Exclude<Kind, 'progress' | 'comment'>, notices: Notice[]): PlannedMessage {
  const look = SUMMARY[kind];
  const first = notices[0]!.event.id;
  const lines = notices.map(look.line);
  return {
    nonce: nonceFor(first),
    firstEventId: first,
    eventIds: notices.map((n) => n.event.id),
    target: 'channel',
    task: null,
    startsThread: false,
    needsNextInLine: kind === 'completed',
    render: (next) =>
      summaryMessage(look.title(notices.length), look.color, lines, notices.length, kind === 'completed' ? { name: 'Next in line', value: next ? taskLine(next, 200) : 'The queue is empty 🎉' } : undefined),
  };
}

export function isAnnouncement(event: TaskEvent): boolean {
  return (ANNOUNCEMENT_KINDS as readonly string[]).includes(event.type) && Boolean(event.details);
}

/** Daily summary or retention notice: one channel message each, never coalesced. */
function announcement(event: TaskEvent): PlannedMessage {
  return {
    nonce: nonceFor(event.id),
    firstEventId: event.id,
    eventIds: [event.id],
    target: 'channel',
    task: null,
    startsThread: false,
    needsNextInLine: false,
    render: () => announcementMessage(event.type as AnnouncementKind, event.details ?? ''),
  };
}

/**
 * The messages for `events` (ordered by id), in event order. The same events and options always
 * give the same plan, which is what lets a restarted notifier skip the messages it already sent.
 */
export function planNotifications(events: TaskEvent[], options: PlanOptions): PlannedMessage[] {
  const byKind = new Map<Kind, Notice[]>();
  for (const event of events) {
    const kind = notificationKind(event, options);
    if (!kind || !event.task) continue;
    const list = byKind.get(kind) ?? [];
    list.push({ kind, event, task: event.task });
    byKind.set(kind, list);
  }
  const planned: PlannedMessage[] = events.filter(isAnnouncement).map(announcement);
  for (const [kind, notices] of byKind) {
    if (kind === 'progress') {
      // Only the latest progress line of each task in the batch is worth a message.
      const latest = new Map<number, Notice>();
      for (const n of notices) latest.set(n.task.id, n);
      for (const n of latest.values()) planned.push(single(n, options));
    } else if (kind === 'comment') {
      // Every comment is a conversation turn: never coalesced.
      for (const n of notices) planned.push(single(n, options));
    } else if (notices.length > options.burst) {
      planned.push(summary(kind, notices));
    } else {
      for (const n of notices) planned.push(single(n, options));
    }
  }
  return planned.sort((a, b) => a.firstEventId - b.firstEventId);
}
