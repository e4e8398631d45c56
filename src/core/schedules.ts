// Schedules (recurring tasks): add, change, pause, run now, and the tick that creates the tasks that are due.
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import { nextOccurrence, nextOccurrences, parseCron, planDueRun } from './cron.js';
import { LIMITS } from './limits.js';
import type { Store } from './ports.js';
import type { MissedPolicy, RunPlan, Schedule, ScheduleChanges, ScheduleRun, ScheduleTemplate } from './schedule-types.js';
import { NO_REVIEW_DEFAULTS, reviewRequired, type ReviewConfig } from './transitions/review.js';
import type { NewTask, Priority, Task, TaskEvent } from './types.js';

export type ScheduleTemplateInput = {
  description: string;
  priority?: Priority;
  notes?: string | null;
  project?: string | null;
  labels?: string[];
  maxAttempts?: number | null;
  assignee?: string | null;
  review?: boolean | null;
};

export type ScheduleInput = {
  cron: string;
  /** IANA name; default the server's TZ. */
  timeZone?: string | null;
  template: ScheduleTemplateInput;
  endsAt?: number | null;
  missed?: MissedPolicy;
  overlap?: boolean;
  paused?: boolean;
  createdBy?: string | null;
};

/** Absent or undefined fields stay as they are. */
type Optional<T> = { [K in keyof T]?: T[K] | undefined };
export type ScheduleUpdate = Optional<Omit<ScheduleInput, 'template' | 'createdBy'>> & { template?: Optional<ScheduleTemplateInput> | undefined };

/** What one tick did, for the loop's log. */
export type TickSummary = { due: number; created: number; missed: number; open: number; stale: number; failed: number };

export type SchedulesDeps = {
  store: Store;
  now: () => number;
  publish: (events: TaskEvent[]) => void;
  config: { timeZone?: string; maxAttempts: number; review?: ReviewConfig };
};

/** Schedules handled per tick at most; the rest are due at the next one. */
const DUE_PER_TICK = 100;

function template(input: ScheduleTemplateInput): ScheduleTemplate {
  const description = input.description?.trim() ?? '';
  if (!description) throw new InvalidError('description must not be empty', { field: 'description' });
  if (description.length > LIMITS.descriptionMax) throw new InvalidError(`description is longer than ${LIMITS.descriptionMax} characters`, { field: 'description' });
  const maxAttempts = input.maxAttempts ?? null;
  if (maxAttempts !== null && (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > LIMITS.maxAttemptsMax)) {
    throw new InvalidError(`max_attempts must be a whole number from 1 to ${LIMITS.maxAttemptsMax}`, { field: 'max_attempts' });
  }
  return {
    description,
    priority: input.priority ?? 'medium',
    notes: input.notes ?? null,
    project: input.project?.trim() || null,
    labels: [...new Set(input.labels ?? [])].sort(),
    maxAttempts,
    assignee: input.assignee ?? null,
    review: input.review ?? null,
  };
}

export function createSchedules({ store, now, publish, config }: SchedulesDeps) {
  const defaultZone = config.timeZone ?? 'UTC';

  const get = async (id: number): Promise<Schedule> => {
    const schedule = await store.getSchedule(id);
    if (!schedule) throw new NotFoundError(`Schedule ${id} not found`, { id });
    return schedule;
  };

  /** The first occurrence after now, checking the expression, the zone and the end date. */
  const firstRun = (cron: string, timeZone: string, endsAt: number | null): number | null => {
    if (endsAt !== null && endsAt <= now()) throw new InvalidError('until: the end date must be in the future', { field: 'until' });
    return nextOccurrence(parseCron(cron, timeZone), now(), endsAt);
  };

  const taskOf = (schedule: Schedule): NewTask => {
    const t = schedule.template;
    return {
      description: t.description,
      priority: t.priority,
      submittedBy: `schedule #${schedule.id}`,
      notes: t.notes,
      project: t.project,
      labels: t.labels,
      dependsOn: [],
      runAfter: 0,
      maxAttempts: t.maxAttempts ?? config.maxAttempts,
      idempotencyKey: null,
      assignee: t.assignee,
      review: reviewRequired(t.review, t.labels, t.project, config.review ?? NO_REVIEW_DEFAULTS),
      scheduleId: schedule.id,
    };
  };

  /** Applies one plan; what came of it (a stale plan means another replica handled the run). */
  const apply = async (schedule: Schedule, plan: RunPlan): Promise<keyof Omit<TickSummary, 'due' | 'failed'>> => {
    const outcome = await store.recordScheduleRun({
      scheduleId: schedule.id,
      runAt: plan.runAt,
      covers: plan.covers,
      task: plan.create ? taskOf(schedule) : null,
      overlap: schedule.overlap,
      guard: { expectedNextRunAt: plan.expectedNextRunAt, nextRunAt: plan.nextRunAt },
      now: now(),
    });
    if (!outcome.ok) return 'stale';
    publish(outcome.events);
    if (outcome.task) return 'created';
    return outcome.run.outcome === 'open' ? 'open' : 'missed';
  };

  return {
    async addSchedule(input: ScheduleInput): Promise<Schedule> {
      const timeZone = input.timeZone ?? defaultZone;
      const endsAt = input.endsAt ?? null;
      const cron = input.cron.trim();
      const nextRunAt = firstRun(cron, timeZone, endsAt);
      return store.createSchedule(
        { cron, timeZone, template: template(input.template), endsAt, missed: input.missed ?? 'skip', overlap: input.overlap ?? false, paused: input.paused ?? false, nextRunAt, createdBy: input.createdBy ?? null },
        now(),
      );
    },

    getSchedule: get,

    listSchedules(): Promise<Schedule[]> {
      return store.listSchedules();
    },

    /** Changes a schedule; a new expression, zone or end date starts counting from now. */
    async updateSchedule(id: number, update: ScheduleUpdate): Promise<Schedule> {
      const current = await get(id);
      const changes: ScheduleChanges = {};
      if (update.template) {
        const given = Object.fromEntries(Object.entries(update.template).filter(([, v]) => v !== undefined));
        changes.template = template({ ...current.template, ...given });
      }
      if (update.missed !== undefined) changes.missed = update.missed;
      if (update.overlap !== undefined) changes.overlap = update.overlap;
      const timing = update.cron !== undefined || update.timeZone !== undefined || update.endsAt !== undefined || (update.paused === false && current.paused);
      if (update.paused !== undefined) changes.paused = update.paused;
      if (timing) {
        changes.cron = update.cron?.trim() ?? current.cron;
        changes.timeZone = update.timeZone ?? current.timeZone;
        changes.endsAt = update.endsAt === undefined ? current.endsAt : update.endsAt;
        changes.nextRunAt = firstRun(changes.cron, changes.timeZone, changes.endsAt);
      }
      const updated = await store.updateSchedule(id, changes, now());
      if (!updated) throw new NotFoundError(`Schedule ${id} not found`, { id });
      return updated;
    },

    async removeSchedule(id: number): Promise<void> {
      if (!(await store.deleteSchedule(id))) throw new NotFoundError(`Schedule ${id} not found`, { id });
    },

    /** Stops creating tasks until resumed; occurrences while paused are not made up for. */
    async pauseSchedule(id: number): Promise<Schedule> {
      await get(id);
      return (await store.updateSchedule(id, { paused: true }, now()))!;
    },

    /** Resumes from now: the next occurrence after now is the next run. */
    async resumeSchedule(id: number): Promise<Schedule> {
      const current = await get(id);
      const nextRunAt = current.endsAt !== null && current.endsAt <= now() ? null : nextOccurrence(parseCron(current.cron, current.timeZone), now(), current.endsAt);
      return (await store.updateSchedule(id, { paused: false, nextRunAt }, now()))!;
    },

    /** Creates the schedule's task now, whatever its timing, pause or open task (a person asked). */
    async runSchedule(id: number): Promise<{ task: Task; run: ScheduleRun }> {
      const schedule = await get(id);
      const outcome = await store.recordScheduleRun({ scheduleId: id, runAt: now(), covers: 1, task: taskOf(schedule), overlap: true, guard: null, now: now() });
      if (!outcome.ok) {
        if (outcome.reason === 'not_found') throw new NotFoundError(`Schedule ${id} not found`, { id });
        throw new ConflictError('CONFLICT', `Schedule ${id} already ran at this instant; try again`, { id });
      }
      publish(outcome.events);
      return { task: outcome.task!, run: outcome.run };
    },

    scheduleRuns(id: number, limit = 20): Promise<ScheduleRun[]> {
      return store.scheduleRuns(id, limit);
    },

    /** The next `count` occurrences (none while paused or after the end). */
    upcomingRuns(schedule: Schedule, count: number): number[] {
      if (schedule.paused || schedule.nextRunAt === null) return [];
      const cron = parseCron(schedule.cron, schedule.timeZone);
      return [schedule.nextRunAt, ...nextOccurrences(cron, schedule.nextRunAt, schedule.endsAt, count - 1)].slice(0, count);
    },

    /**
     * Handles every due schedule once (the leader's loop calls it). A schedule that fails is reported
     * in `errors` and the others go on; a database that fails throws (the loop backs off).
     */
    async tickSchedules(graceMs: number, onError?: (schedule: Schedule, error: unknown) => void): Promise<TickSummary> {
      const at = now();
      const due = await store.dueSchedules(at, DUE_PER_TICK);
      const summary: TickSummary = { due: due.length, created: 0, missed: 0, open: 0, stale: 0, failed: 0 };
      for (const schedule of due) {
        try {
          const plan = planDueRun(schedule, now(), graceMs);
          if (plan) summary[await apply(schedule, plan)] += 1;
        } catch (error) {
          summary.failed += 1;
          onError?.(schedule, error);
        }
      }
      return summary;
    },
  };
}
