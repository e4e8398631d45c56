// Schedules: a template task created on a cron expression, and the runs that record each handled occurrence.
import type { Priority } from './types.js';

/** After downtime (several occurrences due, or one later than the grace): `skip` creates nothing, `once` one task for them all. */
export const MISSED_POLICIES = ['skip', 'once'] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];

/** The task a schedule creates; unset fields take the create's defaults when the task is made. */
export type ScheduleTemplate = {
  description: string;
  priority: Priority;
  notes: string | null;
  project: string | null;
  labels: string[];
  maxAttempts: number | null;
  assignee: string | null;
  /** Null: follow REVIEW_REQUIRED_LABELS / _PROJECTS as a create would. */
  review: boolean | null;
};

export type Schedule = {
  id: number;
  /** Five fields, or a nickname (@hourly, @daily, @weekly, @monthly, @yearly). */
  cron: string;
  timeZone: string;
  template: ScheduleTemplate;
  /** No run after this time; null: no end. */
  endsAt: number | null;
  missed: MissedPolicy;
  /** Create a task even while the previous one is still open. */
  overlap: boolean;
  paused: boolean;
  /** The first occurrence not handled yet; null once the schedule has ended. */
  nextRunAt: number | null;
  lastRunAt: number | null;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
};

export type NewSchedule = Omit<Schedule, 'id' | 'lastRunAt' | 'createdAt' | 'updatedAt'>;

/** Fields an update may change (the core recomputes nextRunAt when the timing changes). */
export type ScheduleChanges = Partial<Pick<Schedule, 'cron' | 'timeZone' | 'template' | 'endsAt' | 'missed' | 'overlap' | 'paused' | 'nextRunAt'>>;

/**
 * What became of one handled occurrence: `created` a task; `open` none, the previous task was still
 * open; `missed` none, after downtime with policy skip; `manual` a task from "run now".
 */
export const RUN_OUTCOMES = ['created', 'open', 'missed', 'manual'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export type ScheduleRun = {
  id: number;
  scheduleId: number;
  runAt: number;
  outcome: RunOutcome;
  taskId: number | null;
  /** Occurrences this run stands for (several after downtime). */
  covers: number;
  createdAt: number;
};

/**
 * A due schedule's next step, decided from the schedule as read: record the run at `runAt` (standing
 * for `covers` occurrences), create a task unless `create` is false, and move next_run_at from
 * `expectedNextRunAt` to `nextRunAt`. The store applies it only if next_run_at is still
 * `expectedNextRunAt` (another leader may have handled it meanwhile).
 */
export type RunPlan = {
  scheduleId: number;
  expectedNextRunAt: number;
  runAt: number;
  covers: number;
  create: boolean;
  nextRunAt: number | null;
};

/**
 * `stale`: another replica handled this occurrence first (next_run_at moved, the schedule was paused
 * or deleted, or the run row already existed); nothing was written by this call.
 */
export type RecordRunOutcome = { ok: true; run: ScheduleRun; task: import('./types.js').Task | null; events: import('./types.js').TaskEvent[] } | { ok: false; reason: 'stale' };
