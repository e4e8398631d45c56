// Schedules: cron edge cases on an injected clock (DST, month ends, nicknames), missed runs after downtime, the overlap rule and the end date, on both backends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextOccurrences, parseCron, planDueRun } from '../../src/core/cron.js';
import type { Schedule } from '../../src/core/schedule-types.js';
import { scheduleGraceMs } from '../../src/jobs/schedules.js';
import { backends, openTestQueue, testClock, type TestQueue } from '../helpers/stores.js';

const MINUTE = 60_000;
const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());
const runs = (cron: string, zone: string, fromIso: string, count: number, endsAt: number | null = null) =>
  iso(nextOccurrences(parseCron(cron, zone), Date.parse(fromIso), endsAt, count));

describe('cron occurrences (croner, in a time zone)', () => {
  it('a fixed time in the spring-forward gap runs once, at the end of the gap (Europe/Berlin, 2026-03-29 02:30 does not exist)', () => {
    expect(runs('30 2 * * *', 'Europe/Berlin', '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, right after the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('a fixed time in the fall-back repeat runs once, at its first pass (Europe/Berlin, 2026-10-25 02:30 occurs twice)', () => {
    expect(runs('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, first pass
      '2026-10-26T01:30:00.000Z', // next day, 02:30 CET
    ]);
  });

  it('an interval job skips the gap and runs on both passes of the repeated hour (America/New_York)', () => {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT; hourly at :00 has no 02:00.
    expect(runs('0 * * * *', 'America/New_York', '2026-03-08T05:30:00Z', 3)).toEqual(['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']);
    // 2026-11-01: 01:00–02:00 happens twice; 01:30 runs at 05:30Z (EDT) and 06:30Z (EST).
    expect(runs('30 1 * * *', 'America/New_York', '2026-11-01T04:00:00Z', 2)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    expect(runs('*/30 1 * * *', 'America/New_York', '2026-11-01T05:10:00Z', 4)).toEqual([
      '2026-11-01T05:30:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-02T06:00:00.000Z',
    ]);
  });

  it('the 31st runs only in months that have one; @daily, @hourly, @weekly and @monthly are midnight/hour starts in the zone', () => {
    expect(runs('0 9 31 * *', 'UTC', '2026-01-01T00:00:00Z', 4)).toEqual(['2026-01-31T09:00:00.000Z', '2026-03-31T09:00:00.000Z', '2026-05-31T09:00:00.000Z', '2026-07-31T09:00:00.000Z']);
    expect(runs('@daily', 'Asia/Tokyo', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-01T15:00:00.000Z', '2026-01-02T15:00:00.000Z']);
    expect(runs('@hourly', 'UTC', '2026-01-01T00:30:00Z', 1)).toEqual(['2026-01-01T01:00:00.000Z']);
    expect(runs('@weekly', 'UTC', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-04T00:00:00.000Z']); // Sunday
    expect(runs('@monthly', 'UTC', '2026-01-15T00:00:00Z', 1)).toEqual(['2026-02-01T00:00:00.000Z']);
    expect(runs('0 9 * * 1-5', 'UTC', '2026-01-02T10:00:00Z', 2)).toEqual(['2026-01-05T09:00:00.000Z', '2026-01-06T09:00:00.000Z']); // Fri → Mon
  });

  it('stops at the end date', () => {
    expect(runs('@daily', 'UTC', '2026-01-01T00:00:00Z', 5, Date.parse('2026-01-03T00:00:00Z'))).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
  });

  it('refuses six fields, bad values, unknown nicknames and unknown zones, naming the field', () => {
    for (const bad of ['0 0 0 * * *', '61 * * * *', '0 9 * *', 'every day', '@fortnightly']) {
      expect(() => parseCron(bad, 'UTC')).toThrow(/^cron: /);
    }
    expect(() => parseCron('@daily', 'Mars/Olympus')).toThrow(/^time_zone: /);
  });

  it('plans: one occurrence on time runs; several due, or one past the grace, are missed (skip: no task, once: one task); the next run is in the future', () => {
    const base: Schedule = {
      id: 1, cron: '*/1 * * * *', timeZone: 'UTC', template: { description: 'x', priority: 'medium', notes: null, project: null, labels: [], maxAttempts: null, assignee: null, review: null },
      endsAt: null, missed: 'skip', overlap: false, paused: false, nextRunAt: Date.UTC(2026, 0, 1, 0, 1), lastRunAt: null, createdBy: null, createdAt: 0, updatedAt: 0,
    };
    const grace = scheduleGraceMs(15_000);
    expect(planDueRun(base, Date.UTC(2026, 0, 1, 0, 0, 59), grace)).toBeNull();
    expect(planDueRun(base, Date.UTC(2026, 0, 1, 0, 1, 10), grace)).toMatchObject({ runAt: Date.UTC(2026, 0, 1, 0, 1), covers: 1, create: true, nextRunAt: Date.UTC(2026, 0, 1, 0, 2) });
    const afterDowntime = Date.UTC(2026, 0, 1, 0, 5, 30); // 00:01 … 00:05 all due
    expect(planDueRun(base, afterDowntime, grace)).toMatchObject({ runAt: Date.UTC(2026, 0, 1, 0, 5), covers: 5, create: false, nextRunAt: Date.UTC(2026, 0, 1, 0, 6) });
    expect(planDueRun({ ...base, missed: 'once' }, afterDowntime, grace)).toMatchObject({ runAt: Date.UTC(2026, 0, 1, 0, 5), covers: 5, create: true, nextRunAt: Date.UTC(2026, 0, 1, 0, 6) });
    const daily = { ...base, cron: '0 9 * * *', nextRunAt: Date.UTC(2026, 0, 1, 9) };
    expect(planDueRun(daily, Date.UTC(2026, 0, 1, 9, 30), grace)).toMatchObject({ covers: 1, create: false, nextRunAt: Date.UTC(2026, 0, 2, 9) });
  });
});

describe.each(backends)('schedules on $name', (backend) => {
  let t: TestQueue;
  const grace = scheduleGraceMs(15_000);
  const tick = () => t.queue.tickSchedules(grace, (_s, err) => { throw err; });
  const scheduled = async (id: number) => (await t.queue.list({ limit: 500 })).tasks.filter((task) => task.scheduleId === id);

  beforeEach(async () => {
    t = await openTestQueue(backend, { timeZone: 'UTC' }, { clock: testClock(Date.UTC(2026, 0, 1, 0, 0, 30)) });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('creates one task per minute with the template, carrying schedule_id; nothing twice for the same run', async () => {
    const s = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'Update dependencies', labels: ['deps'], project: 'web', priority: 'high' }, overlap: true, createdBy: 'ops' });
    expect(s).toMatchObject({ nextRunAt: Date.UTC(2026, 0, 1, 0, 1), timeZone: 'UTC', missed: 'skip', overlap: true, paused: false, createdBy: 'ops' });
    expect(await tick()).toMatchObject({ due: 0 });
    for (let minute = 1; minute <= 3; minute++) {
      t.clock.now = Date.UTC(2026, 0, 1, 0, minute, 2);
      expect(await tick()).toMatchObject({ created: 1 });
      expect(await tick()).toMatchObject({ due: 0 });
    }
    const tasks = await scheduled(s.id);
    expect(tasks).toHaveLength(3);
    expect(tasks[0]).toMatchObject({ description: 'Update dependencies', labels: ['deps'], project: 'web', priority: 'high', scheduleId: s.id, submittedBy: `schedule #${s.id}` });
    const history = await t.queue.scheduleRuns(s.id);
    expect(history.map((r) => [r.outcome, r.covers])).toEqual([['created', 1], ['created', 1], ['created', 1]]);
  });

  it('after 5 minutes of downtime: missed = once creates exactly one task, skip none; both next run in the future', async () => {
    const once = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'once' }, missed: 'once', overlap: true });
    const skip = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'skip' }, overlap: true });
    t.clock.now = Date.UTC(2026, 0, 1, 0, 6, 1); // down from 00:00:30; 00:01 … 00:06 passed
    expect(await tick()).toMatchObject({ due: 2, created: 1, missed: 1 });
    expect(await scheduled(once.id)).toHaveLength(1);
    expect(await scheduled(skip.id)).toHaveLength(0);
    expect((await t.queue.scheduleRuns(once.id))[0]).toMatchObject({ outcome: 'created', covers: 6 });
    expect((await t.queue.scheduleRuns(skip.id))[0]).toMatchObject({ outcome: 'missed', covers: 6 });
    for (const id of [once.id, skip.id]) expect((await t.queue.getSchedule(id)).nextRunAt).toBe(Date.UTC(2026, 0, 1, 0, 7));
    expect(await tick()).toMatchObject({ due: 0 });
    t.clock.now = Date.UTC(2026, 0, 1, 0, 7, 3); // back to normal
    expect(await tick()).toMatchObject({ created: 2 });
  });

  it('no second task while the previous is open unless overlap; a finished one lets the next run create', async () => {
    const s = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'one at a time' } });
    t.clock.now = Date.UTC(2026, 0, 1, 0, 1, 1);
    expect(await tick()).toMatchObject({ created: 1 });
    t.clock.now = Date.UTC(2026, 0, 1, 0, 2, 1);
    expect(await tick()).toMatchObject({ created: 0, open: 1 }); // still pending
    const claimed = await t.queue.claimNext({ instanceId: 'agent' });
    t.clock.now = Date.UTC(2026, 0, 1, 0, 3, 1);
    expect(await tick()).toMatchObject({ open: 1 }); // in progress
    await t.queue.complete(claimed!.id, { leaseToken: claimed!.leaseToken, instanceId: 'agent' });
    t.clock.now = Date.UTC(2026, 0, 1, 0, 4, 1);
    expect(await tick()).toMatchObject({ created: 1 });
    expect(await scheduled(s.id)).toHaveLength(2);
    expect((await t.queue.scheduleRuns(s.id)).map((r) => r.outcome)).toEqual(['created', 'open', 'open', 'created']);
  });

  it('ends at its end date, pauses and resumes from now, runs now on demand, and is removed', async () => {
    const s = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'bounded' }, overlap: true, endsAt: Date.UTC(2026, 0, 1, 0, 2) });
    t.clock.now = Date.UTC(2026, 0, 1, 0, 1, 1);
    await tick();
    t.clock.now = Date.UTC(2026, 0, 1, 0, 2, 1);
    await tick();
    expect((await t.queue.getSchedule(s.id)).nextRunAt).toBeNull();
    t.clock.now = Date.UTC(2026, 0, 1, 0, 5, 1);
    expect(await tick()).toMatchObject({ due: 0 });
    expect(await scheduled(s.id)).toHaveLength(2);

    const p = await t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'paused' }, overlap: true });
    await t.queue.pauseSchedule(p.id);
    t.clock.now = Date.UTC(2026, 0, 1, 0, 9, 1);
    expect(await tick()).toMatchObject({ due: 0 });
    const resumed = await t.queue.resumeSchedule(p.id);
    expect(resumed).toMatchObject({ paused: false, nextRunAt: Date.UTC(2026, 0, 1, 0, 10) });
    expect(t.queue.upcomingRuns(resumed, 3)).toEqual([Date.UTC(2026, 0, 1, 0, 10), Date.UTC(2026, 0, 1, 0, 11), Date.UTC(2026, 0, 1, 0, 12)]);
    const manual = await t.queue.runSchedule(p.id);
    expect(manual.task.scheduleId).toBe(p.id);
    expect(manual.run.outcome).toBe('manual');
    await t.queue.removeSchedule(p.id);
    await expect(t.queue.getSchedule(p.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await t.queue.get(manual.task.id)).scheduleId).toBe(p.id); // tasks stay
  });

  it('refuses an end date in the past and a bad expression or zone, naming the field', async () => {
    await expect(t.queue.addSchedule({ cron: '*/1 * * * *', template: { description: 'x' }, endsAt: Date.UTC(2025, 0, 1) })).rejects.toThrow(/^until: /);
    await expect(t.queue.addSchedule({ cron: '* * *', template: { description: 'x' } })).rejects.toMatchObject({ code: 'INVALID', details: { field: 'cron' } });
    await expect(t.queue.addSchedule({ cron: '@daily', timeZone: 'Nowhere/Land', template: { description: 'x' } })).rejects.toMatchObject({ details: { field: 'time_zone' } });
    await expect(t.queue.addSchedule({ cron: '@daily', template: { description: '  ' } })).rejects.toMatchObject({ details: { field: 'description' } });
  });
});
