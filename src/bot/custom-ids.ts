// The custom_id of every button the bot posts: what to do and to which task (or which /queue page).
import { PRIORITIES, type Priority } from '../core/types.js';

export type ButtonAction =
  | { kind: 'cancel' | 'raise' | 'retry' | 'accept' | 'changes'; taskId: number }
  | { kind: 'queue'; page: number };

const PREFIX = 'athena';
const TASK_KINDS = ['cancel', 'raise', 'retry', 'accept', 'changes'] as const;
/** The feedback form opened by "Request changes"; its submission is checked against that button. */
const FEEDBACK_MODAL = 'feedback';

export function customId(action: ButtonAction): string {
  return action.kind === 'queue' ? `${PREFIX}:queue:${action.page}` : `${PREFIX}:${action.kind}:${action.taskId}`;
}

/** Null for ids this bot did not make (or made by an older version it no longer understands). */
export function parseCustomId(id: string): ButtonAction | null {
  const [prefix, kind, arg] = id.split(':');
  if (prefix !== PREFIX || arg === undefined || !/^\d{1,15}$/.test(arg)) return null;
  const n = Number(arg);
  if (kind === 'queue') return { kind, page: n };
  if ((TASK_KINDS as readonly string[]).includes(kind ?? '')) return { kind: kind as (typeof TASK_KINDS)[number], taskId: n };
  return null;
}

export function feedbackModalId(taskId: number): string {
  return `${PREFIX}:${FEEDBACK_MODAL}:${taskId}`;
}

/** The task of a feedback form's custom_id, or null for any other id. */
export function parseFeedbackModalId(id: string): number | null {
  const [prefix, kind, arg] = id.split(':');
  return prefix === PREFIX && kind === FEEDBACK_MODAL && arg !== undefined && /^\d{1,15}$/.test(arg) ? Number(arg) : null;
}

/** One step up (low → medium → high); null when already high. */
export function raisedPriority(priority: Priority): Priority | null {
  const index = PRIORITIES.indexOf(priority);
  return index > 0 ? PRIORITIES[index - 1]! : null;
}
