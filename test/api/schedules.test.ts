// Schedules over HTTP: add, list with next runs, change, run now, pause, resume, remove, and the 400s for bad input.
import { afterEach, describe, expect, it } from 'vitest';
import { backends, testClock } from '../helpers/stores.js';
import { openTestApp, type TestApp } from '../helpers/app.js';

for (const backend of backends) {
  describe(`schedules over HTTP (${backend.name})`, () => {
    let t: TestApp | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it('adds a schedule, lists its next runs, runs it now (the task shows schedule_id), pauses, resumes, changes and removes it', async () => {
      t = await openTestApp(backend, { clock: testClock(Date.UTC(2026, 0, 1, 8, 0)), queue: { timeZone: 'Europe/Berlin' } });
      const added = await t.call('POST', '/api/schedules', { cron: '0 9 * * 1-5', description: 'Update dependencies', labels: ['deps'], project: 'web', missed: 'once' });
      expect(added.status).toBe(201);
      const s = added.json.schedule;
      // 2026-01-01 is a Thursday; 09:00 in Berlin is 08:00 UTC, so today's already passed at 08:00 UTC.
      expect(s).toMatchObject({ cron: '0 9 * * 1-5', time_zone: 'Europe/Berlin', description: 'Update dependencies', labels: ['deps'], project: 'web', missed: 'once', overlap: false, paused: false, created_by: 'api', until: null });
      expect(s.next_run_at).toBe('2026-01-02T08:00:00.000Z');
      expect(s.next_runs).toEqual(['2026-01-02T08:00:00.000Z', '2026-01-05T08:00:00.000Z', '2026-01-06T08:00:00.000Z', '2026-01-07T08:00:00.000Z', '2026-01-08T08:00:00.000Z']);
      expect((await t.call('GET', '/api/schedules')).json.schedules).toEqual([s]);

      const run = await t.call('POST', `/api/schedules/${s.id}/run`);
      expect(run.status).toBe(201);
      expect(run.json.task).toMatchObject({ description: 'Update dependencies', schedule_id: s.id, labels: ['deps'] });
      expect((await t.call('GET', `/api/tasks/${run.json.task.id}`)).json.task.schedule_id).toBe(s.id);
      const detail = await t.call('GET', `/api/schedules/${s.id}`);
      expect(detail.json.runs).toEqual([expect.objectContaining({ outcome: 'manual', task_id: run.json.task.id, covers: 1 })]);

      const paused = await t.call('POST', `/api/schedules/${s.id}/pause`, {});
      expect(paused.json.schedule).toMatchObject({ paused: true, next_run_at: null, next_runs: [] });
      expect((await t.call('POST', `/api/schedules/${s.id}/resume`)).json.schedule).toMatchObject({ paused: false, next_run_at: '2026-01-02T08:00:00.000Z' });

      const patched = await t.call('PATCH', `/api/schedules/${s.id}`, { cron: '@daily', time_zone: 'UTC', priority: 'high', until: '2026-01-03T00:00:00Z' });
      expect(patched.status).toBe(200);
      expect(patched.json.schedule).toMatchObject({ cron: '@daily', time_zone: 'UTC', priority: 'high', description: 'Update dependencies', until: '2026-01-03T00:00:00.000Z', next_runs: ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'] });

      expect((await t.call('DELETE', `/api/schedules/${s.id}`)).json).toEqual({ removed: s.id });
      expect((await t.call('GET', `/api/schedules/${s.id}`)).status).toBe(404);
      expect((await t.call('POST', `/api/schedules/${s.id}/run`)).status).toBe(404);
      expect((await t.call('GET', `/api/tasks/${run.json.task.id}`)).json.task.schedule_id).toBe(s.id);
    });

    it('refuses a bad cron, an unknown zone, unknown fields and a past end date with 400 naming the field', async () => {
      t = await openTestApp(backend);
      const expect400 = async (body: unknown, field: string) => {
        const res = await t!.call('POST', '/api/schedules', body);
        expect(res.status).toBe(400);
        expect(res.json.code).toMatch(/INVALID|VALIDATION_ERROR/);
        expect(JSON.stringify(res.json)).toContain(field);
      };
      await expect400({ cron: '0 9 * *', description: 'x' }, 'cron');
      await expect400({ cron: '0 25 * * *', description: 'x' }, 'cron');
      await expect400({ cron: '0 0 0 * * *', description: 'x' }, 'cron');
      await expect400({ cron: '@daily', description: 'x', time_zone: 'Mars/Olympus' }, 'time_zone');
      await expect400({ cron: '@daily', description: 'x', until: '2000-01-01T00:00:00Z' }, 'until');
      await expect400({ cron: '@daily', description: 'x', labels: ['no spaces'] }, 'labels');
      await expect400({ cron: '@daily', description: 'x', missed: 'all' }, 'missed');
      await expect400({ cron: '@daily', description: 'x', every: 'day' }, 'every');
      await expect400({ description: 'x' }, 'cron');
      const s = (await t.call('POST', '/api/schedules', { cron: '@hourly', description: 'ok' })).json.schedule;
      const patch = await t.call('PATCH', `/api/schedules/${s.id}`, { cron: 'nope' });
      expect(patch.status).toBe(400);
      expect(patch.json.error).toMatch(/^cron: /);
      expect((await t.call('POST', `/api/schedules/${s.id}/run`, { now: true })).status).toBe(400);
      expect((await t.call('GET', '/api/schedules/abc')).status).toBe(400);
      expect((await t.call('GET', '/api/schedules')).json.schedules).toHaveLength(1);
    });
  });
}
