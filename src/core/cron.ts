// Cron expressions in a time zone (parsed by croner), and the pure decision of what a due schedule does.
import { Cron } from 'croner';
import { InvalidError } from '../errors.js';
import type { RunPlan, Schedule } from './schedule-types.js';

/** Nicknames accepted besides five fields. */
export const CRON_NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'] as const;

/** Occurrences counted one by one after downtime; past this many the count is reported as this many. */
const MISSED_COUNT_MAX = 10_000;

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * A parsed expression. croner's DST rules (Vixie cron's): a fixed-time job (one value in minute and
 * hour, e.g. `30 2 * * *`) whose time falls in a spring-forward gap runs at the first valid time after
 * the gap, and once (the first time) when its time occurs twice; an interval job (`*`, a step, a list
 * or a range in minute or hour) skips times in a gap and runs on both passes of a repeated hour.
 */
export function parseCron(expression: string, timeZone: string): Cron {
  const text = expression.trim();
  if (!isTimeZone(timeZone)) throw new InvalidError(`time_zone: unknown time zone "${timeZone}" (use an IANA name such as UTC or Europe/Paris)`, { field: 'time_zone' });
  if (text.startsWith('@') && !(CRON_NICKNAMES as readonly string[]).includes(text.toLowerCase())) {
    throw new InvalidError(`cron: unknown nickname "${text}" (use ${CRON_NICKNAMES.join(', ')} or five fields)`, { field: 'cron' });
  }
  try {
    return new Cron(text, { timezone: timeZone, mode: '5-part', paused: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    throw new InvalidError(`cron: "${text}" is not a valid cron expression (five fields: minute hour day-of-month month day-of-week): ${reason}`, { field: 'cron' });
  }
}

/** The first occurrence strictly after `after`, or null when there is none on or before `endsAt`. */
export function nextOccurrence(cron: Cron, after: number, endsAt: number | null): number | null {
  const next = cron.nextRun(new Date(after));
  if (!next) return null;
  const at = next.getTime();
  return endsAt !== null && at > endsAt ? null : at;
}

/** The next `count` occurrences after `after` (fewer when the schedule ends first). */
export function nextOccurrences(cron: Cron, after: number, endsAt: number | null, count: number): number[] {
  const runs: number[] = [];
  let from = after;
  while (runs.length < count) {
    const at = nextOccurrence(cron, from, endsAt);
    if (at === null) break;
    runs.push(at);
    from = at;
  }
  return runs;
}

/**
 * What a schedule due at `now` does. The occurrences from next_run_at up to now are due: exactly one,
 * at most `graceMs` late, is an ordinary run (a task). Anything else is downtime: policy `skip`
 * records the latest as missed and creates nothing; `once` creates one task for them all. Either way
 * next_run_at moves to the first occurrence after now, so there is never a burst.
 */
export function planDueRun(schedule: Schedule, now: number, graceMs: number): RunPlan | null {
  const expected = schedule.nextRunAt;
  if (expected === null || expected > now || schedule.paused) return null;
  const cron = parseCron(schedule.cron, schedule.timeZone);
  const endsAt = schedule.endsAt;
  let latest = expected;
  let covers = 1;
  for (;;) {
    const at = nextOccurrence(cron, latest, endsAt);
    if (at === null || at > now) break;
    if (covers >= MISSED_COUNT_MAX) {
      // Years of downtime on a per-minute schedule: jump to the last occurrence instead of counting on.
      const previous = cron.previousRuns(1, new Date(Math.min(now, endsAt ?? now) + 1))[0];
      if (previous) latest = previous.getTime();
      break;
    }
    latest = at;
    covers += 1;
  }
  const onTime = covers === 1 && now - latest <= graceMs;
  return {
    scheduleId: schedule.id,
    expectedNextRunAt: expected,
    runAt: latest,
    covers,
    create: onTime || schedule.missed === 'once',
    nextRunAt: nextOccurrence(cron, Math.max(now, latest), endsAt),
  };
}
