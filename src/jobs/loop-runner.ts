// Runs the server's periodic work: interval or daily schedules, one run at a time, backoff after errors, state for /health and /metrics.
import type { Logger } from '../logger.js';

export type Schedule =
  /** `everyMs` after the previous run ended (a slow run delays the next one instead of overlapping it). */
  | { kind: 'interval'; everyMs: number }
  /** Every day at `at` ("HH:MM", 24-hour) wall-clock time in `timeZone`. */
  | { kind: 'daily'; at: string; timeZone: string };

export type LoopRunContext = {
  /** Aborts when the loop stops (shutdown, or this replica lost leadership): stop early and return. */
  signal: AbortSignal;
  /** Child logger carrying `loop: <name>`. */
  log: Logger;
  /** The runner's clock at the start of this run. */
  now: number;
};

export type LoopSpec = {
  name: string;
  schedule: Schedule;
  run(context: LoopRunContext): Promise<unknown>;
  /** Delay before the first run; default: one schedule step (a full interval, or the next daily time). */
  firstRunInMs?: number;
  /** Up to this many ms added at random to every wait, so loops and replicas do not fire in lockstep. */
  jitterMs?: number;
  /**
   * After n failed runs in a row the next try waits baseMs·2^(n−1), at most maxMs. Defaults: base
   * min(interval, 60 s), max max(interval, 5 min); daily loops retry from 60 s and never wait past
   * their next daily time.
   */
  backoff?: { baseMs?: number; maxMs?: number };
  /** A run going on longer than this shows as a failing check in /health (default: 3 intervals, at least 10 min). */
  stuckAfterMs?: number;
};

export type LoopState = {
  name: string;
  schedule: string;
  running: boolean;
  runs: number;
  errors: number;
  consecutiveErrors: number;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
  lastSuccessAt: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  nextRunAt: number | null;
};

export type LoopRunOutcome = { name: string; ok: boolean; durationMs: number; finishedAt: number; error?: unknown };

/** Clock and timers, injectable so tests drive time by hand. */
export type LoopTimers = {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export const realTimers: LoopTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export type Loop = {
  readonly name: string;
  state(): LoopState;
  /** Runs now, or when a run is already in flight, waits for that one: never two runs at once. */
  runNow(): Promise<void>;
  /** Settles when the loop's signal aborted and its run in flight (if any) ended. */
  stopped: Promise<void>;
};

export type LoopRunnerOptions = {
  log: Logger;
  timers?: LoopTimers;
  random?: () => number;
  /** Called when a loop starts (metrics show its series from then on) and after every run. */
  onLoopStart?: (name: string) => void;
  onRunEnd?: (outcome: LoopRunOutcome) => void;
};

export type LoopRunner = {
  /** Starts a loop that runs until `signal` aborts. Starting a name again (a new leadership term) keeps its counters. */
  start(spec: LoopSpec, signal: AbortSignal): Loop;
  states(): LoopState[];
  /** /health checks, one per loop: not ok while its last run failed or a run seems stuck. */
  healthChecks(): Record<string, { ok: boolean; detail?: string }>;
};

const MINUTE = 60_000;
/** setTimeout fires at once for a delay past 2^31 - 1 ms (24.8 days): longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === 'daily') return `daily at ${schedule.at} ${schedule.timeZone}`;
  const s = schedule.everyMs / 1000;
  return s >= 3600 && s % 3600 === 0 ? `every ${s / 3600}h` : s >= 60 && s % 60 === 0 ? `every ${s / 60}min` : `every ${s}s`;
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds to add to UTC to get the wall-clock time in `timeZone` at `instant`. */
function zoneOffsetMs(instant: number, timeZone: string): number {
  // Without Intl for UTC (the default): its first use maps about 8 MB of ICU data.
  if (timeZone === 'UTC') return 0;
  let format = zoneFormatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(instant))) parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

/**
 * The first instant after `now` whose wall-clock time in `timeZone` is `at` ("HH:MM"). On a day
 * when that time does not exist (clocks jump forward over it), the run lands within the hour after.
 */
export function nextDailyRun(now: number, at: string, timeZone: string): number {
  const [hour, minute] = at.split(':').map(Number) as [number, number];
  const today = new Date(now + zoneOffsetMs(now, timeZone));
  for (let add = 0; add <= 2; add++) {
    const wall = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + add, hour, minute);
    // Converge on the offset in force at that wall time (it differs from today's across a DST change).
    let instant = wall - zoneOffsetMs(wall, timeZone);
    instant = wall - zoneOffsetMs(instant, timeZone);
    if (instant > now) return instant;
  }
  throw new Error(`no daily time ${at} in ${timeZone} after ${new Date(now).toISOString()}`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createLoopRunner(options: LoopRunnerOptions): LoopRunner {
  const timers = options.timers ?? realTimers;
  const random = options.random ?? Math.random;
  const states = new Map<string, LoopState>();
  const stuckAfter = new Map<string, number>();

  function start(spec: LoopSpec, signal: AbortSignal): Loop {
    const log = options.log.child({ loop: spec.name });
    const state: LoopState = states.get(spec.name) ?? {
      name: spec.name,
      schedule: describeSchedule(spec.schedule),
      running: false,
      runs: 0,
      errors: 0,
      consecutiveErrors: 0,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastSuccessAt: null,
      lastDurationMs: null,
      lastError: null,
      nextRunAt: null,
    };
    states.set(spec.name, state);
    stuckAfter.set(spec.name, spec.stuckAfterMs ?? Math.max(10 * MINUTE, spec.schedule.kind === 'interval' ? 3 * spec.schedule.everyMs : 0));
    let timer: unknown = null;
    let inFlight: Promise<void> | null = null;

    const jitter = () => (spec.jitterMs ? Math.floor(random() * spec.jitterMs) : 0);

    const scheduledDelay = (now: number): number =>
      spec.schedule.kind === 'interval' ? spec.schedule.everyMs : nextDailyRun(now, spec.schedule.at, spec.schedule.timeZone) - now;

    const backoffDelay = (now: number): number => {
      const n = state.consecutiveErrors;
      if (spec.schedule.kind === 'interval') {
        const every = spec.schedule.everyMs;
        const base = spec.backoff?.baseMs ?? Math.min(every, MINUTE);
        const max = spec.backoff?.maxMs ?? Math.max(every, 5 * MINUTE);
        return Math.min(max, base * 2 ** (n - 1));
      }
      const base = spec.backoff?.baseMs ?? MINUTE;
      const max = Math.min(spec.backoff?.maxMs ?? Number.POSITIVE_INFINITY, scheduledDelay(now));
      return Math.min(max, base * 2 ** (n - 1));
    };

    const schedule = (delayMs: number) => {
      if (signal.aborted) return;
      const delay = Math.max(0, Math.round(delayMs + jitter()));
      state.nextRunAt = timers.now() + delay;
      const wait = (left: number) => {
        timer = timers.setTimeout(() => {
          timer = null;
          if (left > MAX_TIMER_MS) return wait(left - MAX_TIMER_MS);
          void execute().then(scheduleNext);
        }, Math.min(left, MAX_TIMER_MS));
      };
      wait(delay);
    };

    /**
     * After a run: the next one. Computing it can throw (a time zone the runtime no longer knows, a broken
     * clock); the loop then stops, and says so in the log and in /health, instead of an unhandled rejection.
     */
    function scheduleNext(): void {
      if (timer !== null) return;
      try {
        schedule(state.consecutiveErrors > 0 ? backoffDelay(timers.now()) : scheduledDelay(timers.now()));
      } catch (err) {
        state.nextRunAt = null;
        state.errors++;
        state.consecutiveErrors++;
        state.lastError = `could not schedule the next run: ${errorText(err)}`;
        log.error({ err }, 'loop stopped: could not schedule its next run');
      }
    }

    function execute(): Promise<void> {
      if (inFlight) return inFlight;
      if (signal.aborted) return Promise.resolve();
      inFlight = (async () => {
        const startedAt = timers.now();
        state.running = true;
        state.lastStartedAt = startedAt;
        let error: unknown;
        let ok = true;
        try {
          await spec.run({ signal, log, now: startedAt });
        } catch (err) {
          ok = false;
          error = err;
        }
        const finishedAt = timers.now();
        const durationMs = finishedAt - startedAt;
        state.running = false;
        state.runs++;
        state.lastFinishedAt = finishedAt;
        state.lastDurationMs = durationMs;
        if (ok) {
          state.consecutiveErrors = 0;
          state.lastSuccessAt = finishedAt;
          state.lastError = null;
          log.debug({ durationMs }, 'loop run finished');
        } else if (signal.aborted) {
          // Cut short by shutdown or a leadership change: not a failure of the work itself.
          log.info({ durationMs, reason: errorText(error) }, 'loop run stopped early');
        } else {
          state.errors++;
          state.consecutiveErrors++;
          state.lastError = errorText(error);
          log.error({ err: error, durationMs, consecutiveErrors: state.consecutiveErrors, retryInMs: backoffDelay(finishedAt) }, 'loop run failed');
        }
        try {
          options.onRunEnd?.({ name: spec.name, ok: ok || signal.aborted, durationMs, finishedAt, error });
        } catch (err) {
          log.warn({ err }, 'loop run observer failed');
        }
      })().finally(() => {
        inFlight = null;
      });
      return inFlight;
    }

    const stopped = new Promise<void>((resolve) => {
      const onAbort = () => {
        if (timer !== null) timers.clearTimeout(timer);
        timer = null;
        state.nextRunAt = null;
        void (inFlight ?? Promise.resolve()).then(() => resolve());
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });

    options.onLoopStart?.(spec.name);
    schedule(spec.firstRunInMs ?? scheduledDelay(timers.now()));
    log.debug({ schedule: state.schedule, nextRunAt: state.nextRunAt }, 'loop started');
    return { name: spec.name, state: () => ({ ...state }), runNow: execute, stopped };
  }

  return {
    start,
    states: () => [...states.values()].map((s) => ({ ...s })),
    healthChecks() {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      for (const s of states.values()) {
        const runningFor = s.running && s.lastStartedAt !== null ? timers.now() - s.lastStartedAt : 0;
        if (runningFor > (stuckAfter.get(s.name) ?? Number.POSITIVE_INFINITY)) {
          checks[`loop:${s.name}`] = { ok: false, detail: `a run has been going for ${Math.round(runningFor / 1000)} s` };
        } else if (s.consecutiveErrors > 0) {
          checks[`loop:${s.name}`] = { ok: false, detail: `last ${s.consecutiveErrors} run(s) failed: ${s.lastError}` };
        } else {
          const last = s.lastSuccessAt === null ? 'not run yet' : `last ran ${new Date(s.lastSuccessAt).toISOString()}`;
          checks[`loop:${s.name}`] = { ok: true, detail: `${s.schedule}; ${last}` };
        }
      }
      return checks;
    },
  };
}
