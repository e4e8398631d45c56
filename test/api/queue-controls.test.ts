// Pause, resume and concurrency limits over HTTP: what each route answers, what claims then hand out, and where the pause is shown.
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/stores.js';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { openObservedApp, type ObservedApp } from '../metrics/observed-app.js';

for (const backend of backends) {
  describe(`queue controls over HTTP (${backend.name})`, () => {
    let t: TestApp | undefined;
    let o: ObservedApp | undefined;
    afterEach(async () => {
      await t?.close();
      await o?.close();
      t = o = undefined;
    });

    it('a paused queue answers claim-next with no task until resumed; the pause says who and why, and /api/health shows it', async () => {
      t = await openTestApp(backend);
      await t.call('POST', '/api/tasks', { description: 'deploy-safe work' });
      const paused = await t.call('POST', '/api/queue/pause', { reason: 'deploying', by: 'ops' });
      expect(paused.status).toBe(200);
      expect(paused.json.pause).toMatchObject({ scope: 'queue', paused_by: 'ops', reason: 'deploying', paused_at: expect.any(String) });
      expect((await t.call('POST', '/api/tasks', { description: 'created while paused' })).status).toBe(201);
      const claim = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a1' });
      expect(claim.json.task ?? null).toBeNull();
      expect((await t.call('GET', '/api/queue/pauses')).json.pauses).toEqual([paused.json.pause]);
      expect((await t.call('GET', '/api/health')).json.checks.paused).toEqual({ ok: true, detail: 'queue paused by ops (deploying)' });

      expect((await t.call('POST', '/api/queue/resume', {})).json.resumed).toMatchObject({ scope: 'queue' });
      expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a1' })).json.task).toMatchObject({ description: 'deploy-safe work' });
      expect((await t.call('POST', '/api/queue/resume', {})).status).toBe(404);
      expect((await t.call('GET', '/api/health')).json.checks.paused).toBeUndefined();
    });

    it('GET /api/tasks/next shows only what a claim would take: not a paused or limited task, nothing while the queue is paused', async () => {
      t = await openTestApp(backend, { queue: { wipLimit: 0 } });
      const site = (await t.call('POST', '/api/tasks', { description: 'site work', project: 'site', priority: 'high' })).json.task;
      await t.call('POST', '/api/tasks', { description: 'db work', labels: ['db'], priority: 'high' });
      const plain = (await t.call('POST', '/api/tasks', { description: 'plain work', priority: 'low' })).json.task;
      expect((await t.call('POST', '/api/queue/pause', { scope: 'project:site' })).status).toBe(200);
      expect((await t.call('PUT', '/api/limits', { scope: 'label:db', max: 0 })).status).toBe(200);
      // An agent of the original protocol shown the paused task would have its claim refused, and be shown it again.
      expect((await t.call('GET', '/api/tasks/next')).json.task.id).toBe(plain.id);
      expect((await t.call('POST', '/api/queue/resume', { scope: 'project:site' })).status).toBe(200);
      expect((await t.call('GET', '/api/tasks/next')).json.task.id).toBe(site.id);
      expect((await t.call('POST', '/api/queue/pause', {})).status).toBe(200);
      expect((await t.call('GET', '/api/tasks/next')).json).toEqual({ task: null });
    });

    it('limits are set, listed with what is held, enforced, and removed', async () => {
      t = await openTestApp(backend, { queue: { wipLimit: 0 } });
      for (const n of [1, 2]) await t.call('POST', '/api/tasks', { description: `db ${n}`, labels: ['db'] });
      const set = await t.call('PUT', '/api/limits', { scope: 'label:db', max: 1 });
      expect(set.json.limit).toMatchObject({ scope: 'label:db', max: 1, held: 0, set_by: 'api' });
      expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a1', labels: ['db'] })).json.task).toMatchObject({ description: 'db 1' });
      expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a2', labels: ['db'] })).json.task ?? null).toBeNull();
      expect((await t.call('GET', '/api/limits')).json.limits).toEqual([expect.objectContaining({ scope: 'label:db', max: 1, held: 1 })]);
      expect((await t.call('DELETE', '/api/limits?scope=label:db')).json).toEqual({ removed: 'label:db' });
      expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a2', labels: ['db'] })).json.task).toMatchObject({ description: 'db 2' });
      expect((await t.call('DELETE', '/api/limits?scope=label:db')).status).toBe(404);
    });

    it('refuses unknown fields, bad scopes and bad limits, naming what is wrong', async () => {
      t = await openTestApp(backend);
      const unknown = await t.call('POST', '/api/queue/pause', { scop: 'label:db' });
      expect(unknown.status).toBe(400);
      expect(JSON.stringify(unknown.json)).toContain('scop');
      expect((await t.call('POST', '/api/queue/pause', { scope: 'labels:db' })).json.error).toMatch(/scope must be/);
      expect((await t.call('PUT', '/api/limits', { scope: 'queue', max: 1 })).json.error).toMatch(/scope must be/);
      expect((await t.call('PUT', '/api/limits', { scope: 'label:db', max: -1 })).status).toBe(400);
      expect((await t.call('GET', '/api/queue/pauses')).json.pauses).toEqual([]);
    });

    it('/metrics shows pauses and limits with what each scope holds', async () => {
      o = await openObservedApp(backend);
      await o.send('POST', '/api/queue/pause', { scope: 'project:web' });
      await o.send('PUT', '/api/limits', { scope: 'label:db', max: 2 });
      const text = (await o.get('/metrics')).body;
      expect(text).toContain('athena_paused{scope="project:web"} 1');
      expect(text).toContain('athena_concurrency_limit{scope="label:db"} 2');
      expect(text).toContain('athena_concurrency_held{scope="label:db"} 0');
      await o.send('POST', '/api/queue/resume', { scope: 'project:web' });
      expect((await o.get('/metrics')).body).not.toContain('athena_paused{');
    });
  });
}
