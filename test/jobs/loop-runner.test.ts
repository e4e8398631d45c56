// The loop runner: schedules, isolation, backoff, no overlap, abort, daily times in a time zone — on a hand-driven clock.
import { afterEach, describe, expect, it } from 'vitest';
import { createLoopRunner, nextDailyRun, type LoopRunContext, type LoopRunOutcome } from '../../src/jobs/loop-runner.js';
import { silentLogger } from '../../src/logger.js';
import { testClock } from '../helpers/stores.js';
import { fakeTimers, settle } from './fake-timers.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const START = Date.UTC(2026, 0, 5, 12, 0, 0);

function setup() {
  const clock = testClock(START);
  const timers = fakeTimers(clock);
  const outcomes: LoopRunOutcome[] = [];
  const runner = createLoopRunner({ log: silentLogger, timers, random: () => 0, onRunEnd: (o) => outcomes.push(o) });
  const controller = new AbortController();
  return { clock, timers, runner, outcomes, controller, signal: controller.signal };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('loop runner', () => {
  const controllers: AbortController[] = [];
  afterEach(() => {
    for (const c of controllers.splice(0)) c.abort();
  });
  const started = () => {
    const s = setup();
    controllers.push(s.controller);
    return s;
  };

  it('runs an interval loop every interval and keeps its state', async () => {
    const { timers, runner, signal, clock } = started();
    const runsAt: number[] = [];
    const loop = runner.start({ name: 'tick', schedule: { kind: 'interval', everyMs: 10 * SECOND }, run: async ({ now }) => void runsAt.push(now) }, signal);
    expect(loop.state()).toMatchObject({ runs: 0, nextRunAt: START + 10 * SECOND, schedule: 'every 10s' });
    await timers.advance(35 * SECOND);
    expect(runsAt).toEqual([START + 10 * SECOND, START + 20 * SECOND, START + 30 * SECOND]);
    expect(loop.state()).toMatchObject({ runs: 3, errors: 0, consecutiveErrors: 0, lastSuccessAt: START + 30 * SECOND, nextRunAt: START + 40 * SECOND, lastError: null });
    expect(clock.now).toBe(START + 35 * SECOND);
  });

  it('when the next run cannot be scheduled the loop stops and says so in /health, with no unhandled rejection', async () => {
    const clock = testClock(START);
    const timers = fakeTimers(clock);
    let draws = 0;
    const random = () => {
      if (++draws > 1) throw new Error('no randomness left');
      return 0;
    };
    const controller = new AbortController();
    controllers.push(controller);
    const runner = createLoopRunner({ log: silentLogger, timers, random });
    let runs = 0;
    const loop = runner.start({ name: 'jittery', schedule: { kind: 'interval', everyMs: 10 * SECOND }, jitterMs: SECOND, run: async () => void runs++ }, controller.signal);
    await timers.advance(60 * SECOND);
    expect(runs).toBe(1);
    expect(loop.state()).toMatchObject({ nextRunAt: null, consecutiveErrors: 1, lastError: 'could not schedule the next run: no randomness left' });
    expect(runner.healthChecks()['loop:jittery']).toMatchObject({ ok: false });
  });

  it('a failing loop never stops another one, and its failure shows in the health checks', async () => {
    const { timers, runner, signal, outcomes } = started();
    let healthyRuns = 0;
    runner.start({ name: 'broken', schedule: { kind: 'interval', everyMs: 5 * SECOND }, run: async () => Promise.reject(new Error('disk on fire')) }, signal);
    runner.start({ name: 'fine', schedule: { kind: 'interval', everyMs: 5 * SECOND }, run: async () => void healthyRuns++ }, signal);
    await timers.advance(60 * SECOND);
    expect(healthyRuns).toBe(12);
    const broken = runner.states().find((s) => s.name === 'broken')!;
    expect(broken.errors).toBeGreaterThanOrEqual(3);
    expect(broken.lastError).toBe('disk on fire');
    const checks = runner.healthChecks();
    expect(checks['loop:broken']).toEqual({ ok: false, detail: expect.stringContaining('disk on fire') });
    expect(checks['loop:fine']?.ok).toBe(true);
    expect(outcomes.some((o) => o.name === 'broken' && !o.ok)).toBe(true);
    expect(outcomes.filter((o) => o.name === 'fine').every((o) => o.ok)).toBe(true);
  });

  it('backs off exponentially after errors, capped, and returns to its interval after a success', async () => {
    const { timers, runner, signal } = started();
    const runsAt: number[] = [];
    let failuresLeft = 7;
    runner.start(
      {
        name: 'flaky',
        schedule: { kind: 'interval', everyMs: 10 * SECOND },
        run: async ({ now }) => {
          runsAt.push(now);
          if (failuresLeft-- > 0) throw new Error('not yet');
        },
      },
      signal,
    );
    await timers.advance(30 * MINUTE);
    const gaps = runsAt.slice(1).map((t, i) => (t - runsAt[i]!) / SECOND);
    // 7 failures: waits 10, 20, 40, 80, 160, then the 5-minute cap; after the success, the interval again.
    expect(gaps.slice(0, 8)).toEqual([10, 20, 40, 80, 160, 300, 300, 10]);
    expect(gaps.slice(8).every((g) => g === 10)).toBe(true);
  });

  it('never runs twice at once: a slow run delays the next one, and runNow joins the run in flight', async () => {
    const { timers, runner, signal } = started();
    let active = 0;
    let maxActive = 0;
    let starts = 0;
    let release = deferred();
    const loop = runner.start(
      {
        name: 'slow',
        schedule: { kind: 'interval', everyMs: 1 * SECOND },
        run: async () => {
          starts++;
          active++;
          maxActive = Math.max(maxActive, active);
          await release.promise;
          active--;
        },
      },
      signal,
    );
    await timers.advance(1 * SECOND);
    expect(loop.state().running).toBe(true);
    await timers.advance(10 * SECOND); // ten intervals pass while the first run is still going
    const joined = loop.runNow();
    expect(starts).toBe(1);
    expect(timers.pending()).toBe(0); // nothing scheduled while a run is in flight
    release.resolve();
    await joined;
    await settle();
    expect(starts).toBe(1);
    expect(loop.state()).toMatchObject({ running: false, runs: 1, lastDurationMs: 10 * SECOND });
    expect(timers.nextAt()).toBe(START + 12 * SECOND); // one interval after that run ended
    release = deferred();
    release.resolve();
    await timers.advance(1 * SECOND);
    expect(starts).toBe(2);
    expect(maxActive).toBe(1);
  });

  it('stops on abort: the run in flight sees the signal, nothing runs after, and an abort is not an error', async () => {
    const { timers, runner, signal, controller } = started();
    let seen: LoopRunContext | null = null;
    const release = deferred();
    let starts = 0;
    const loop = runner.start(
      {
        name: 'stoppable',
        schedule: { kind: 'interval', everyMs: 1 * SECOND },
        run: async (context) => {
          starts++;
          seen = context;
          await release.promise;
          if (context.signal.aborted) throw new Error('aborted');
        },
      },
      signal,
    );
    await timers.advance(1 * SECOND);
    let stopped = false;
    void loop.stopped.then(() => (stopped = true));
    controller.abort();
    await settle();
    expect(seen!.signal.aborted).toBe(true);
    expect(stopped).toBe(false); // waits for the run in flight
    release.resolve();
    await settle();
    expect(stopped).toBe(true);
    await timers.advance(60 * SECOND);
    expect(starts).toBe(1);
    expect(timers.pending()).toBe(0);
    expect(loop.state()).toMatchObject({ errors: 0, consecutiveErrors: 0, nextRunAt: null });
    await loop.runNow();
    expect(starts).toBe(1);
  });

  it('a run that never ends shows as failing in the health checks', async () => {
    const { timers, runner, signal } = started();
    const release = deferred();
    runner.start({ name: 'hung', schedule: { kind: 'interval', everyMs: 1 * MINUTE }, run: () => release.promise }, signal);
    await timers.advance(1 * MINUTE);
    await timers.advance(9 * MINUTE);
    expect(runner.healthChecks()['loop:hung']?.ok).toBe(true);
    await timers.advance(2 * MINUTE);
    expect(runner.healthChecks()['loop:hung']).toEqual({ ok: false, detail: 'a run has been going for 660 s' });
    release.resolve();
    await settle();
    expect(runner.healthChecks()['loop:hung']?.ok).toBe(true);
  });

  it('adds jitter to each wait', async () => {
    const clock = testClock(START);
    const timers = fakeTimers(clock);
    const runner = createLoopRunner({ log: silentLogger, timers, random: () => 0.5 });
    const controller = new AbortController();
    controllers.push(controller);
    const loop = runner.start({ name: 'jittery', schedule: { kind: 'interval', everyMs: 10 * SECOND }, jitterMs: 2 * SECOND, run: async () => {} }, controller.signal);
    expect(loop.state().nextRunAt).toBe(START + 11 * SECOND);
  });

  it('keeps counters when a loop starts again under a new signal (a new leadership term)', async () => {
    const { timers, runner } = started();
    const first = new AbortController();
    runner.start({ name: 'term', schedule: { kind: 'interval', everyMs: SECOND }, run: async () => {} }, first.signal);
    await timers.advance(3 * SECOND);
    first.abort();
    const second = new AbortController();
    controllers.push(second);
    runner.start({ name: 'term', schedule: { kind: 'interval', everyMs: SECOND }, run: async () => {} }, second.signal);
    await timers.advance(2 * SECOND);
    expect(runner.states()).toEqual([expect.objectContaining({ name: 'term', runs: 5 })]);
  });
});

describe('daily schedule', () => {
  it('finds the next HH:MM in UTC', () => {
    expect(new Date(nextDailyRun(Date.UTC(2026, 0, 5, 8, 59), '09:00', 'UTC')).toISOString()).toBe('2026-01-05T09:00:00.000Z');
    expect(new Date(nextDailyRun(Date.UTC(2026, 0, 5, 9, 0), '09:00', 'UTC')).toISOString()).toBe('2026-01-06T09:00:00.000Z');
    expect(new Date(nextDailyRun(Date.UTC(2026, 11, 31, 23, 30), '00:15', 'UTC')).toISOString()).toBe('2027-01-01T00:15:00.000Z');
  });

  it('follows the zone offset in winter and summer and across the change', () => {
    // Paris is UTC+1 in January, UTC+2 in July; clocks go forward on 2026-03-29.
    expect(new Date(nextDailyRun(Date.UTC(2026, 0, 5, 0, 0), '09:00', 'Europe/Paris')).toISOString()).toBe('2026-01-05T08:00:00.000Z');
    expect(new Date(nextDailyRun(Date.UTC(2026, 6, 5, 0, 0), '09:00', 'Europe/Paris')).toISOString()).toBe('2026-07-05T07:00:00.000Z');
    expect(new Date(nextDailyRun(Date.UTC(2026, 2, 28, 9, 0), '09:00', 'Europe/Paris')).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    // New York: UTC-5 in winter; late evening local time is the next UTC day.
    expect(new Date(nextDailyRun(Date.UTC(2026, 0, 5, 12, 0), '23:30', 'America/New_York')).toISOString()).toBe('2026-01-06T04:30:00.000Z');
    // 02:30 does not exist in Paris on 2026-03-29: it runs within the hour around the jump, once.
    const gap = nextDailyRun(Date.UTC(2026, 2, 29, 0, 0), '02:30', 'Europe/Paris');
    expect(Math.abs(gap - Date.UTC(2026, 2, 29, 1, 0))).toBeLessThanOrEqual(60 * MINUTE);
  });

  it('runs a daily loop once a day at its wall-clock time, and retries a failure before the next day', async () => {
    const clock = testClock(Date.UTC(2026, 0, 5, 0, 0));
    const timers = fakeTimers(clock);
    const runner = createLoopRunner({ log: silentLogger, timers, random: () => 0 });
    const controller = new AbortController();
    const runsAt: string[] = [];
    let failNext = false;
    runner.start(
      {
        name: 'summary',
        schedule: { kind: 'daily', at: '09:00', timeZone: 'Europe/Paris' },
        run: async ({ now }) => {
          runsAt.push(new Date(now).toISOString());
          if (failNext) {
            failNext = false;
            throw new Error('channel unavailable');
          }
        },
      },
      controller.signal,
    );
    await timers.advance(2 * 24 * 60 * MINUTE);
    expect(runsAt).toEqual(['2026-01-05T08:00:00.000Z', '2026-01-06T08:00:00.000Z']);
    failNext = true;
    await timers.advance(24 * 60 * MINUTE);
    // Failed at 08:00, retried a minute later, then back on the daily time.
    expect(runsAt.slice(2)).toEqual(['2026-01-07T08:00:00.000Z', '2026-01-07T08:01:00.000Z']);
    expect(timers.nextAt()).toBe(Date.UTC(2026, 0, 8, 8, 0));
    controller.abort();
  });
});
